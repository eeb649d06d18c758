"""PostgreSQL timestamps are parsed by psycopg's C loader, into the same aware UTC datetimes as Django's."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection

from dashboard.lib.pg_timestamps import use_c_timestamp_loader

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL loader"),
]


def _loader():
    connection.ensure_connection()
    return connection.connection.adapters.get_loader(1184, 0)  # timestamptz, text format


def test_connections_read_timestamps_with_the_c_loader():
    assert _loader().__name__ == "_UTCTimestampLoader"


def test_a_timestamp_in_any_offset_reads_back_as_the_same_instant_in_utc():
    written = datetime(2026, 1, 31, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=-5)))
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::timestamptz, NULL::timestamptz", [written])
        read, missing = cursor.fetchone()
    assert read == written
    assert read.tzinfo is UTC
    assert missing is None


def test_a_session_in_another_time_zone_keeps_djangos_loader():
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'Europe/Paris'")
        try:
            previous = _loader()
            use_c_timestamp_loader(type(connection), connection)
            assert _loader() is previous
        finally:
            cursor.execute("SET TIME ZONE 'UTC'")
