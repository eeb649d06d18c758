"""The SQLite database and its -wal and -shm files are readable by their owner only: they hold API key
digests, which are enough to sign SigV4 requests."""

import os
import stat

import pytest
from django.db.utils import ConnectionHandler


@pytest.fixture(autouse=True)
def usual_umask():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.fixture(autouse=True)
def own_databases(django_db_blocker):
    """These tests open databases of their own in a temporary directory, not the test database."""
    with django_db_blocker.unblock():
        yield


def write_through_a_new_connection(path) -> dict[str, int]:
    """Connect as EventHub does (WAL mode) and write, so SQLite creates the -wal and -shm files."""
    options = {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"}
    handler = ConnectionHandler(
        {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path), "OPTIONS": options}}
    )
    connection = handler["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE IF NOT EXISTS secrets (digest TEXT)")
            cursor.execute("INSERT INTO secrets VALUES ('x')")
        assert (path.parent / f"{path.name}-wal").exists()
        modes = {file.name: stat.S_IMODE(file.stat().st_mode) for file in path.parent.iterdir()}
    finally:
        connection.close()
    return modes


def test_a_new_database_and_its_wal_files_are_owner_only(tmp_path):
    path = tmp_path / "db.sqlite3"
    assert write_through_a_new_connection(path) == {
        "db.sqlite3": 0o600,
        "db.sqlite3-wal": 0o600,
        "db.sqlite3-shm": 0o600,
    }


def test_an_existing_world_readable_database_is_made_owner_only(tmp_path):
    path = tmp_path / "db.sqlite3"
    write_through_a_new_connection(path)
    path.chmod(0o644)
    assert write_through_a_new_connection(path)["db.sqlite3"] == 0o600
