"""Reading the global log (`$all`) in position order without ever skipping an event.

Positions come from a sequence. On PostgreSQL a transaction draws its positions when it inserts and
its events become visible when it commits, so commits can land out of position order: while 10 is in
flight, 11 may already be visible, and a reader that moved its checkpoint to 11 would never see 10.

So readers stop at a *safe high-water mark*. Below the highest visible position, a missing position is
either in flight or gone for good (its transaction rolled back). To tell which, the reader notes the
transactions that hold a write lock on the event table right after it saw the gap (`pg_locks`: an
INSERT takes ROW EXCLUSIVE on the table before it draws a position and keeps it until its transaction
ends) and waits, for at most `LOG_GAP_WAIT_SECONDS`, until all of them have ended. Whoever drew a
missing position was among them or was already over, so afterwards every gap below that highest
position is final and the reader may pass it. Typically that wait is a few milliseconds; if it times
out the reader stops before the gap and tries again later, never passing it early.

SQLite needs none of this: writers are serialized (IMMEDIATE transactions), so commits follow position
order and a gap can only be a rollback.
"""

import time

from django.conf import settings
from django.db import connection

from dashboard.models import Event

_POLL_FIRST, _POLL_MAX = 0.001, 0.02

_WRITERS_SQL = """
    SELECT pid, virtualtransaction FROM pg_locks
    WHERE locktype = 'relation' AND mode = 'RowExclusiveLock' AND granted
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND relation = to_regclass(%s) AND pid <> pg_backend_pid()
"""


def safe_head(after: int, *, limit: int, wait: float | None = None) -> int:
    """The highest position H, at most `limit` events beyond `after`, such that every event at or below
    H that will ever be committed is visible now. Returns `after` when there is nothing safe to read."""
    positions = list(
        Event.objects.filter(position__gt=after).order_by("position").values_list("position", flat=True)[:limit]
    )
    if not positions:
        return after
    contiguous = after
    for position in positions:
        if position != contiguous + 1:
            break
        contiguous = position
    if contiguous == positions[-1]:
        return contiguous
    timeout = settings.EVENTHUB["LOG_GAP_WAIT_SECONDS"] if wait is None else wait
    return positions[-1] if wait_for_writers(timeout) else contiguous


def wait_for_writers(timeout: float) -> bool:
    """Wait until every transaction now writing events has ended; False if some still run at the deadline."""
    if connection.vendor != "postgresql":
        return True
    writers = _writers()
    deadline = time.monotonic() + timeout
    pause = _POLL_FIRST
    while writers:
        if time.monotonic() >= deadline:
            return False
        time.sleep(pause)
        pause = min(pause * 2, _POLL_MAX)
        writers &= _writers()
    return True


def last_position() -> int:
    """The highest visible position (0 for an empty log); events below it may still be in flight."""
    return Event.objects.order_by("-position").values_list("position", flat=True).first() or 0


def _writers() -> set[tuple[int, str]]:
    with connection.cursor() as cursor:
        cursor.execute(_WRITERS_SQL, [Event._meta.db_table])
        return set(cursor.fetchall())
