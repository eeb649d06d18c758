"""Reading PostgreSQL timestamps with psycopg's C parser.

Django registers its own timestamptz loader, a Python subclass of psycopg's pure-Python one, so every
timestamp read from PostgreSQL is parsed in Python: about 5 µs each, the largest single cost of loading
the worker's claims (eight timestamps a row). When the session's time zone is Django's (UTC), the C
loader gives the same aware datetimes ten times faster. Django looks for a `timezone` attribute on the
connection's loader before each cursor, so the C loader is wrapped in a class that has it.
"""

from datetime import UTC

from django.db.backends.base.base import BaseDatabaseWrapper

try:
    from psycopg import adapt
    from psycopg_binary._psycopg import TimestamptzLoader as CTimestamptzLoader
except ImportError:  # psycopg without its C extension: Django's loader stays
    CTimestamptzLoader = None


def use_c_timestamp_loader(sender: type, connection: BaseDatabaseWrapper, **kwargs) -> None:
    """`connection_created` receiver: timestamps of a UTC PostgreSQL session are parsed in C."""
    if connection.vendor != "postgresql" or CTimestamptzLoader is None or connection.timezone is not UTC:
        return
    if connection.connection.info.parameter_status("TimeZone") != "UTC":
        return
    connection.connection.adapters.register_loader("timestamptz", _UTCTimestampLoader)


if CTimestamptzLoader is not None:

    class _UTCTimestampLoader(adapt.Loader):
        timezone = UTC  # what Django's loader carries, so Django keeps this one

        def __init__(self, oid: int, context=None) -> None:
            super().__init__(oid, context)
            self._parse = CTimestamptzLoader(oid, context).load

        def load(self, data):
            return self._parse(data)
