"""Every command in README.md's shell blocks runs as printed, from a plain shell (no DEBUG, no SECRET_KEY), in
a fresh copy of the checkout, the way a new user goes through it: `make run`, create a key, publish with curl,
boto3 and the AWS CLI, route to the bundled receiver and see the signature verify.

What is substituted, and why: `$KEY_ID`/`$SECRET` are set as the shell variables the commands read (boto3
gets them as Python names), `whsec_...` is the secret `create_rule` printed, and the fixed ports (8000 for
the stack, 9000 for the receiver, db-host/redis-host of the PostgreSQL example) become free ones or this
test run's database and Redis, so the test never collides with a stack a developer has running.
`make test` is the one command not run: it runs this test.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from tests.conftest import ROOT, free_port
from tests.processes import Running
from tests.waiting import wait_until

NOT_RUN = {"make test": "runs the whole suite, this test included"}
# What a fresh clone does not hold: the environment, local state, caches and anything large and unused here.
NOT_COPIED = shutil.ignore_patterns(
    ".venv", ".git", "db.sqlite3*", "test-db.sqlite3*", ".eventhub", ".eventhub-admin-password", "staticfiles",
    "node_modules", "__pycache__", ".hypothesis", ".pytest_cache", ".schemathesis", "docs", "bench", "chaos",
)  # fmt: skip


def readme_commands(text: str) -> list[str]:
    """The commands of README's ```sh blocks, continuation lines joined, in order; comment lines dropped."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        for command in re.sub(r"\\\n\s*", "", block).splitlines():
            if command.strip() and not command.lstrip().startswith("#"):
                commands.append(command.strip())
    return commands


def readme_python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _fresh_checkout(tmp_path: Path) -> Path:
    """A copy of the checkout with no local state; its .venv reuses ours without letting make reinstall."""
    checkout = tmp_path / "eventhub"
    shutil.copytree(ROOT, checkout, ignore=NOT_COPIED, symlinks=True)
    venv = checkout / ".venv"
    venv.mkdir()
    for name in ("bin", "lib", "lib64", "include", "pyvenv.cfg"):
        if (ROOT / ".venv" / name).exists():
            (venv / name).symlink_to(ROOT / ".venv" / name)
    # Newer than the copied requirements.txt, so `make run` installs nothing into the shared environment.
    (venv / ".runtime").touch()
    return checkout


class Walkthrough:
    """State carried from one README command to the next, as a user carries it between terminals."""

    def __init__(self, checkout: Path, subprocess_env: dict) -> None:
        self.checkout = checkout
        self.http_port = free_port()
        self.receiver_port = free_port()
        # A plain shell: no DEBUG, SECRET_KEY, DATABASE_URL or REDIS_URL. The embedded Redis gets a free
        # port, because something may answer on 6379 here (the default would then use it, as README says).
        self.env = {
            "PATH": f"{ROOT / '.venv' / 'bin'}:/usr/bin:/bin",
            "HOME": os.environ.get("HOME", "/root"),
            "PORT": str(self.http_port),
            "EVENTHUB_EMBEDDED_REDIS_PORT": str(free_port()),
            "PYTHONUNBUFFERED": "1",
        }
        self.other_database_url = subprocess_env["DATABASE_URL"]
        self.test_redis_url = subprocess_env["REDIS_URL"]
        self.stack: Running | None = None
        self.receiver: Running | None = None
        self.signing_secret = ""

    def substitute(self, command: str) -> str:
        command = command.replace("127.0.0.1:8000", f"127.0.0.1:{self.http_port}")
        command = command.replace("127.0.0.1:9000", f"127.0.0.1:{self.receiver_port}")
        command = command.replace("--port 9000", f"--port {self.receiver_port}")
        command = command.replace("whsec_...", self.signing_secret)
        command = re.sub(r"postgres://user:password@db-host:\d+/\w+", self.other_database_url, command)
        return re.sub(r"redis://redis-host:\d+/\d+", self.test_redis_url, command)

    def run(self, command: str) -> str:
        result = subprocess.run(
            ["bash", "-c", self.substitute(command)],
            cwd=self.checkout,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stderr, result.stderr
        return result.stdout

    def start(self, command: str, port: int, **env: str) -> Running:
        running = Running(["bash", "-c", self.substitute(command)], self.checkout, {**self.env, **env})
        try:
            wait_until(lambda: running.process.poll() is not None or _listening(port), timeout=180)
            assert running.process.poll() is None
        except AssertionError:
            running.stop()
            raise AssertionError(f"{command} did not come up:\n{running.output()[-3000:]}") from None
        return running

    def events_stored(self) -> int:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.http_port}/api/v1/events?limit=500",
            headers={"Authorization": f"Bearer {self.env['KEY_ID']}:{self.env['SECRET']}"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return len(json.load(answer)["events"])

    def stop_all(self) -> None:
        for running in (self.receiver, self.stack):
            if running:
                running.stop()


def _make_run(walk: Walkthrough, command: str) -> None:
    """Each `make run` replaces the stack before it, as the README's terminal 1 does; the one on another
    database (the PostgreSQL example) runs beside it, is checked, and stopped."""
    if "DATABASE_URL=" in command:
        port = free_port()
        other = walk.start(command, port, PORT=str(port))
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=10) as page:
                assert page.status == 200
            assert f"Redis: {walk.test_redis_url} (from REDIS_URL)" in other.output()
        finally:
            other.stop()
        return
    if walk.stack:
        walk.stack.stop()
    walk.stack = walk.start(command, walk.http_port)
    with urllib.request.urlopen(f"http://127.0.0.1:{walk.http_port}/accounts/login/", timeout=10) as page:
        assert page.status == 200
    assert "Redis: redis://127.0.0.1:" in walk.stack.output()


def _create_api_key(walk: Walkthrough, command: str) -> None:
    output = walk.run(command)
    walk.env["KEY_ID"] = re.search(r"access_key_id:\s+(\S+)", output).group(1)
    walk.env["SECRET"] = re.search(r"secret_access_key:\s+(\S+)", output).group(1)


def _curl(walk: Walkthrough, command: str) -> None:
    answer = json.loads(walk.run(command))
    if " -d " in command:
        assert answer["failed_entry_count"] == 0, answer
    else:
        assert answer["events"], answer


def _aws_cli(walk: Walkthrough, command: str) -> None:
    assert json.loads(walk.run(command))["FailedEntryCount"] == 0


def _create_rule(walk: Walkthrough, command: str) -> None:
    walk.signing_secret = re.search(r"signing secret: (whsec_\S+)", walk.run(command)).group(1)


def _receive_webhooks(walk: Walkthrough, command: str) -> None:
    """README: publish the total-1200 event again; the receiver prints it with a verified signature."""
    walk.receiver = walk.start(command, walk.receiver_port)
    [publish] = [c for c in readme_commands((ROOT / "README.md").read_text()) if c.startswith("curl") and " -d " in c]
    walk.run(publish)
    wait_until(lambda: "signature OK" in walk.receiver.output(), timeout=60)
    assert re.search(r"webhook-id=msg_\S+ signature OK", walk.receiver.output())


HANDLERS: list[tuple[str, Callable[[Walkthrough, str], None]]] = [
    (r"^(\w+=\S+ )*make run\b", _make_run),
    (r"^\.venv/bin/python manage\.py create_api_key ", _create_api_key),
    (r"^curl ", _curl),
    (r"^(\w+=\S+ )*aws events put-events ", _aws_cli),
    (r"^\.venv/bin/python manage\.py create_rule ", _create_rule),
    (r"^\.venv/bin/python manage\.py receive_webhooks ", _receive_webhooks),
]


def _handler(command: str) -> Callable[[Walkthrough, str], None] | None:
    for pattern, handler in HANDLERS:
        if re.match(pattern, command):
            return handler
    return None


def test_every_readme_command_is_run_by_this_test_or_excluded_with_a_reason():
    commands = readme_commands((ROOT / "README.md").read_text())
    assert commands
    unknown = [c for c in commands if _handler(c) is None and c.split("#")[0].strip() not in NOT_RUN]
    assert not unknown, f"README commands this test does not know how to run: {unknown}"


@pytest.fixture
def empty_database(subprocess_env, tmp_path):
    """For README's PostgreSQL example: a database `make run` migrates from nothing, on this run's PostgreSQL
    server (the test database itself is created without migrations, so migrating it would fail), or a
    fresh SQLite file when the suite runs on SQLite."""
    url = subprocess_env["DATABASE_URL"]
    if not url.startswith("postgres"):
        yield f"sqlite:///{tmp_path / 'readme-example.sqlite3'}"
        return
    name = f"readme_{uuid.uuid4().hex[:12]}"
    server = url.rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"{server}/{name}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_readme_commands_work_as_printed(subprocess_env, empty_database, tmp_path):
    readme = (ROOT / "README.md").read_text()
    walk = Walkthrough(_fresh_checkout(tmp_path), {**subprocess_env, "DATABASE_URL": empty_database})
    try:
        for command in readme_commands(readme):
            if command.split("#")[0].strip() in NOT_RUN:
                continue
            _handler(command)(walk, command)
            if command.startswith("aws "):
                # The boto3 example sits between curl and the AWS CLI; run it once a key exists.
                stored = walk.events_stored()
                [example] = readme_python_blocks(readme)
                variables = f"KEY_ID = {walk.env['KEY_ID']!r}\nSECRET = {walk.env['SECRET']!r}\n"
                walk.run(f"python - <<'EOF'\n{variables}{walk.substitute(example)}EOF")
                assert walk.events_stored() == stored + 1
        assert walk.receiver is not None, "README's webhook walkthrough was not run"
    finally:
        walk.stop_all()
    assert (walk.checkout / ".eventhub" / "secret_key").stat().st_mode & 0o777 == 0o600
    assert (walk.checkout / ".eventhub").stat().st_mode & 0o777 == 0o700
