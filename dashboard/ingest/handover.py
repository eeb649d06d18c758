"""Handing deliveries to Redis: the one way a change in the database reaches the workers.

Redis only carries ids, so the hand-over waits for the commit (a worker must find the row it is told
about). If Redis refuses, nothing is lost: the sweeper re-enqueues every due, unfinished delivery.
"""

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial

from django.db import transaction

from dashboard.delivery import transport


def hand_over(
    now: Iterable[uuid.UUID] = (),
    *,
    later: Iterable[tuple[uuid.UUID, datetime]] = (),
    then: Callable[[], None] | None = None,
) -> None:
    """Put deliveries on the stream (`now`) or in the delayed set (`later`, with due times), then call
    `then` (a live-page hint, say). Call it after commit: see `hand_over_after_commit`."""
    transport.enqueue(list(now))
    transport.schedule(later)
    if then is not None:
        then()


def hand_over_after_commit(
    now: Iterable[uuid.UUID] = (),
    *,
    later: Iterable[tuple[uuid.UUID, datetime]] = (),
    then: Callable[[], None] | None = None,
) -> None:
    """`hand_over` once the current transaction commits (at once outside a transaction)."""
    transaction.on_commit(partial(hand_over, list(now), later=list(later), then=then))
