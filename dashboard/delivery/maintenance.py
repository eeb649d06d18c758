"""Maintenance: what keeps deliveries moving besides new entries.

- `move_due_retries`: retries whose time has come, from the delayed set to the stream;
- `reclaim_abandoned`: entries another consumer read but never acknowledged (it died or hung);
- `sweep`: unfinished deliveries the database says are overdue, which covers a FLUSHALL, a Redis restart
  and a crash between commit and enqueue (one worker at a time, under a Redis lock).
"""

import logging

from django.conf import settings

from . import leases
from .database import DatabaseThreads
from .transport import AsyncTransport, sweeper_lock_key

log = logging.getLogger(__name__)

IDLE_CONSUMER_MS = 3_600_000
MOVE_BATCH = 1000


async def move_due_retries(transport: AsyncTransport) -> int:
    """Move every due retry to the stream; returns how many moved."""
    moved, total = MOVE_BATCH, 0
    while moved >= MOVE_BATCH:
        moved = await transport.move_due(MOVE_BATCH)
        total += moved
    return total


async def reclaim_abandoned(transport: AsyncTransport, room: int) -> list[tuple[str, dict]]:
    """Up to `room` entries left unacknowledged past the visibility timeout, now this consumer's."""
    visibility_ms = int(settings.EVENTHUB["VISIBILITY_TIMEOUT_SECONDS"] * 1000)
    entries = await transport.claim_abandoned(visibility_ms, room)
    if entries:
        log.info("took over %d entries abandoned by another consumer", len(entries))
    return entries


async def sweep_if_first(db: DatabaseThreads, transport: AsyncTransport) -> int | None:
    """Sweep unless another worker swept within the interval (None then)."""
    interval = settings.EVENTHUB["SWEEP_INTERVAL_SECONDS"]
    if not await transport.try_lock(sweeper_lock_key(), interval * 0.8):
        return None
    return await sweep(db, transport)


async def sweep(db: DatabaseThreads, transport: AsyncTransport) -> int:
    """Re-enqueue unfinished deliveries Redis lost; trim acknowledged entries; forget dead consumers.
    Returns how many deliveries were re-enqueued."""
    knobs = settings.EVENTHUB
    await transport.ensure_group()
    ids = await db.call(leases.overdue, knobs["SWEEP_GRACE_SECONDS"], knobs["SWEEP_BATCH"])
    if ids:
        log.warning("sweeper re-enqueued %d overdue deliveries", len(ids))
        await transport.add(ids)
    await transport.trim()
    await transport.forget_idle_consumers(IDLE_CONSUMER_MS)
    return len(ids)
