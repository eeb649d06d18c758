"""Shared fixtures: real Redis (the system one, or an embedded one started here), the test database,
API keys, and a live Daphne server in a subprocess for tests that talk HTTP like a real client."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis as redis_lib
from django.conf import settings

from dashboard.lib.embedded_redis import redis_answers, start_embedded_redis

# Fixtures of the delivery tests (webhook receiver, compressed retry schedule).
pytest_plugins = ["tests.delivery_harness"]

ROOT = Path(__file__).resolve().parents[1]
TEST_REDIS_DB = int(os.environ.get("EVENTHUB_TEST_REDIS_DB", "9"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


@pytest.fixture(scope="session", autouse=True)
def redis_url(tmp_path_factory) -> str:
    """The system Redis when REDIS_URL answers, else an embedded real one; tests use their own db.
    The pattern engine's tests replace this and `redis` (tests/patterns/conftest.py): they need no Redis."""
    base = os.environ.get("REDIS_URL", "")
    process = None
    if not base or not redis_answers(base):
        port = free_port()
        process = start_embedded_redis(port, tmp_path_factory.mktemp("redis"))
        base = f"redis://127.0.0.1:{port}/0"
    url = base.rsplit("/", 1)[0] + f"/{TEST_REDIS_DB}"
    os.environ["REDIS_URL"] = url
    settings.REDIS_URL = url
    settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = [url]
    yield url
    if process:
        process.terminate()
        process.wait()


@pytest.fixture(autouse=True)
def redis(redis_url):
    """A clean Redis database for every test, and fresh clients that point at it."""
    from dashboard.delivery import transport

    transport.client.cache_clear()
    client = redis_lib.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture(autouse=True)
def fresh_routing():
    """Rules of an earlier test must not route this test's events (the cache is rechecked once a second)."""
    from dashboard.delivery.planning import routing_cache

    routing_cache.invalidate()


@pytest.fixture(autouse=True)
def fresh_schema_validators():
    """Schemas of an earlier test must not validate this test's events (the table is rechecked every 2 s)."""
    from dashboard.schemas.validation import forget_validators

    forget_validators()


@pytest.fixture
def api_key(db):
    from dashboard.models import ApiKey

    key, secret = ApiKey.issue("test", ["publish", "read"])
    return key, secret


@pytest.fixture
def auth_header(api_key) -> dict:
    key, secret = api_key
    return {"HTTP_AUTHORIZATION": f"Bearer {key.access_key_id}:{secret}"}


@pytest.fixture
def bearer(transactional_db) -> str:
    """An Authorization header value for a live server (the key is committed, so other processes see it)."""
    from dashboard.models import ApiKey

    key, secret = ApiKey.issue("live", ["publish", "read"])
    return f"Bearer {key.access_key_id}:{secret}"


def _subprocess_env() -> dict:
    """Environment for server and worker subprocesses: same settings, the test database."""
    env = dict(os.environ, DEBUG="1", PYTHONUNBUFFERED="1")
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    else:
        env["DATABASE_URL"] = (
            f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    return env


@pytest.fixture
def subprocess_env(transactional_db) -> dict:
    return _subprocess_env()


@contextmanager
def daphne_server(env: dict, log: Path) -> Iterator[str]:
    """Daphne serving eventhub.asgi on a free port with `env`; yields its base URL. It logs to a file, not a
    pipe: a server that logs a lot would fill an unread pipe and stall."""
    port = free_port()
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "eventhub.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        wait_for_port(port)
    except TimeoutError:
        process.kill()
        raise AssertionError(log.read_text(errors="replace")[-3000:]) from None
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def live_daphne(subprocess_env, tmp_path):
    """Daphne against the test database, for one test."""
    with daphne_server(subprocess_env, tmp_path / "daphne.log") as url:
        yield url
