"""Intake: from stream entries to claimed deliveries, one database claim per batch of entries.

A delivery is claimed in the database before it is sent (see leases.py), so a duplicate entry in Redis
(a sweep, a takeover, a redrive) costs a query, not a second delivery.
"""

import logging
import secrets
import uuid
from dataclasses import dataclass, field

import redis
from django.db import DatabaseError

from dashboard.lib.ids import parse_uuids
from dashboard.models import Delivery
from dashboard.ui import broadcast

from . import leases
from .database import DatabaseThreads
from .transport import AsyncTransport, delivery_of

log = logging.getLogger(__name__)


@dataclass
class Work:
    """A claimed delivery with the stream entries that carried it (duplicates are acknowledged together).
    `reserved`: it already holds a slot under its target's rate limit."""

    delivery: Delivery
    token: str
    entry_ids: list[str]
    reserved: bool = False


@dataclass
class Intake:
    """What claiming a batch of entries found, each entry in exactly one list:
    - work: deliveries now leased to this worker, to be sent;
    - suspects: deliveries whose worker died mid-attempt, to be taken over one at a time;
    - acknowledged: entries with nothing to do (finished, redriven, duplicate), acknowledged already;
    - kept: entries of takeovers still leased to another worker, left pending for a later takeover."""

    work: list[Work] = field(default_factory=list)
    suspects: list[tuple[uuid.UUID, list[str]]] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


async def claim_entries(
    db: DatabaseThreads, transport: AsyncTransport, entries: list[tuple[str, dict]], *, taken_over: bool = False
) -> Intake:
    """Claim the entries' deliveries in one UPDATE and sort the entries into an Intake.

    An entry taken over from another consumer whose delivery is still leased stays pending: the lease
    may run out soon (the consumer is dead), and then the next takeover finds it abandoned. Raises
    DatabaseError when the claim fails: the entries then stay pending and are taken over later.
    """
    by_delivery: dict[str, list[str]] = {}
    reserved: set[str] = set()
    for entry_id, fields in entries:
        delivery_id, holds_slot = delivery_of(fields)
        by_delivery.setdefault(delivery_id, []).append(entry_id)
        if holds_slot:
            reserved.add(delivery_id)
    token = secrets.token_hex(8)
    claim = await db.call(leases.claim, parse_uuids(by_delivery), token)
    intake = Intake()
    for delivery in claim.deliveries:
        key = str(delivery.id)
        intake.work.append(Work(delivery, token, by_delivery.pop(key), key in reserved))
    for delivery_id in claim.abandoned:
        intake.suspects.append((delivery_id, by_delivery.pop(str(delivery_id))))
    held = {str(i) for i in claim.held_elsewhere} if taken_over else set()
    for delivery_id, entry_ids in by_delivery.items():
        (intake.kept if delivery_id in held else intake.acknowledged).extend(entry_ids)
    await acknowledge(transport, intake.acknowledged)
    return intake


async def acknowledge(transport: AsyncTransport, entry_ids: list[str]) -> None:
    """XACK; a failure is only logged: an unacknowledged entry is taken over later and finds nothing to do."""
    try:
        await transport.ack(entry_ids)
    except (redis.RedisError, OSError):
        log.warning("acknowledging %d entries failed", len(entry_ids), exc_info=True)


async def take_over(
    db: DatabaseThreads, transport: AsyncTransport, delivery_id: uuid.UUID, entry_ids: list[str], worker: str
) -> Work | None:
    """Take over a delivery whose worker died mid-attempt (see `leases.take_over`): the Work to send it
    again, or None when there is nothing to send: it is no longer abandoned, or it was dead-lettered
    as a poison event (then its entries are acknowledged and ordered groups behind it released)."""
    token = secrets.token_hex(8)
    delivery, poison = await db.call(leases.take_over, delivery_id, token, worker)
    if delivery is not None and not poison:
        log.info("retrying delivery %s alone: its worker was lost (%d times)", delivery_id, delivery.worker_losses)
        return Work(delivery, token, entry_ids)
    await acknowledge(transport, entry_ids)
    if poison:
        log.warning("delivery %s keeps killing workers: dead-lettered as worker_lost", delivery_id)
        await release_ordered_groups(db, transport, [delivery])
        broadcast.deliveries_changed([delivery])
    return None


async def release_ordered_groups(db: DatabaseThreads, transport: AsyncTransport, finished: list[Delivery]) -> None:
    """Enqueue the next delivery of each ordered group a finished delivery held back."""
    try:
        await transport.add(await db.call(leases.next_in_order, finished))
    except (redis.RedisError, OSError, DatabaseError):
        log.warning("releasing ordered groups failed; the sweeper will", exc_info=True)
