"""Recording: a batch of finished attempts written in one transaction, then handed on in Redis.

Order matters: the outcome is committed first, and only then are retries scheduled, ordered groups
released and the entries acknowledged, so an entry is never acknowledged for an outcome not recorded.
"""

import logging

import redis
from django.db import DatabaseError

from dashboard.ui import broadcast

from . import pausing
from .attempts import Finished, Recorded, record_attempts
from .database import DatabaseThreads
from .intake import acknowledge
from .transport import AsyncTransport

log = logging.getLogger(__name__)

RECORD_BATCH = 500


async def record(db: DatabaseThreads, transport: AsyncTransport, batch: list[tuple[Finished, list[str]]]) -> Recorded:
    """Write the attempts (raises DatabaseError, and then nothing was acknowledged), then schedule
    retries, release ordered groups, acknowledge the entries and tell live pages."""
    recorded = await db.call(record_attempts, [finished for finished, _ in batch])
    try:
        await transport.schedule((i, due, False) for i, due in recorded.retries)
        await transport.add(recorded.next_in_order)
    except (redis.RedisError, OSError):
        log.warning("scheduling after an attempt failed; the sweeper will catch up", exc_info=True)
    await acknowledge(transport, [entry for _, entries in batch for entry in entries])
    broadcast.deliveries_changed(recorded.changed)
    await _pause_or_resume_targets(db, [finished for finished, _ in batch])
    return recorded


async def _pause_or_resume_targets(db: DatabaseThreads, finished: list[Finished]) -> None:
    """A paused target whose probe succeeded is resumed; a target whose attempts failed may be paused."""
    succeeded: dict[int, str] = {}
    failed: set[int] = set()
    for item in finished:
        target = item.delivery.target
        if target is None or not item.attempted:
            continue
        if item.outcome.succeeded:
            if target.is_paused:
                succeeded[target.id] = item.delivery.webhook_id
        elif item.outcome.retriable:
            failed.add(target.id)
    try:
        for target_id, webhook_id in succeeded.items():
            await db.call(pausing.resume_target, target_id, f"probe delivery {webhook_id} succeeded")
        if failed:
            await db.call(pausing.pause_failing_targets, failed)
    except DatabaseError:
        log.warning("pausing or resuming targets failed; the next attempt will try again", exc_info=True)
