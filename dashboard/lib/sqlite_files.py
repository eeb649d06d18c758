"""The SQLite database holds secret-equivalent material (API key digests sign SigV4; sessions; webhook
signing secrets), so its files are readable by their owner only.

SQLite creates the -wal and -shm files with the database file's mode, so restricting the database file
at the first connection of every process also covers those created later; an existing world-readable
database (from before this check) is fixed at the same time.
"""

import logging
import os
import stat

from django.db.backends.base.base import BaseDatabaseWrapper

logger = logging.getLogger(__name__)


def restrict_sqlite_files(sender: type, connection: BaseDatabaseWrapper, **kwargs) -> None:
    """`connection_created` receiver: make the database, -wal and -shm files owner-only."""
    if connection.vendor != "sqlite":
        return
    name = str(connection.settings_dict["NAME"])
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    for path in (name, f"{name}-wal", f"{name}-shm"):
        _make_owner_only(path)


def _make_owner_only(path: str) -> None:
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode & 0o077:
            os.chmod(path, mode & 0o700)
    except FileNotFoundError:
        return
    except PermissionError:
        logger.warning("cannot make %s owner-only: it belongs to another user", path)
