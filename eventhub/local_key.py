"""The SECRET_KEY of a checkout that sets none: generated once, kept owner-only under `.eventhub/`.

Every process started from the same directory (`make run`, `manage.py` in a second terminal, the tests)
reads the same key, so sessions and signed values stay valid across them. Production sets SECRET_KEY.
"""

import contextlib
import os
import secrets
from pathlib import Path


def local_secret_key(directory: Path) -> str:
    """The key stored in `directory/secret_key`, created (0600, directory 0700) by whichever process is first."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    # mkdir's mode is filtered by the umask and ignored for an existing directory (say, one the embedded
    # Redis created before keys were kept here).
    directory.chmod(0o700)
    path = directory / "secret_key"
    if not path.exists():
        _write_once(path, secrets.token_urlsafe(50))
    path.chmod(0o600)
    key = path.read_text().strip()
    if len(key) < 50:
        raise OSError(f"{path} holds no usable key; delete it to have a new one generated")
    return key


def _write_once(path: Path, key: str) -> None:
    # Written in full under a private name, then linked into place: a process racing this one either
    # wins the link or reads the winner's complete file, never a half-written one.
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(key + "\n")
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
    finally:
        draft.unlink()
