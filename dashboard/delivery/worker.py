"""The dispatch worker: one asyncio process that moves deliveries from Redis to their targets.

Loops, all in one event loop:
- reader: XREADGROUP new entries (blocking ~1 s) while fewer than `concurrency` deliveries are in hand;
- claimers (two): each claims what the reader brought in one UPDATE, and as soon as that returns, claims
  everything that arrived meanwhile: a lone event goes at once, and under load the batches grow by themselves;
- reclaimer: XAUTOCLAIM entries a dead consumer left unacknowledged past the visibility timeout;
- mover: due retries from the delayed sorted set into the stream (atomic Lua);
- sweeper: one worker at a time (Redis lock) re-enqueues unfinished deliveries the database says are
  overdue, which covers a FLUSHALL, a Redis restart and a crash between commit and enqueue;
- recorder: writes finished attempts in batches (whatever finished while the last batch was written),
  then schedules retries and acknowledges entries;
- suspects: deliveries whose worker died mid-attempt are retried one at a time, with nothing else in
  hand, so a poison event (one that kills the process) takes down only itself: after
  WORKER_LOST_LIMIT losses it is dead-lettered as `worker_lost`, and its neighbours are not blamed.

Every entry is acknowledged only after its outcome is committed. A delivery is claimed in the
database before it is sent (see leases.py), so duplicates in Redis cost a query, not a delivery.
SIGTERM stops reading, lets in-flight deliveries finish and be recorded, then exits.
"""

import asyncio
import logging
import os
import random
import secrets
import socket
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, nullcontext, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TypeVar

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from dashboard import broadcast
from dashboard.jsoncodec import dumps
from dashboard.models import Delivery, Target

from . import attempts, leases, targets
from .handlers import call_handler
from .policy import DeadReason, Outcome, too_old
from .transform import InvalidTransform, RuleContext, target_input
from .transport import AsyncTransport, delivery_of, sweeper_lock_key
from .webhook import WebhookSender

log = logging.getLogger(__name__)
T = TypeVar("T")

# A rate-limit slot further away than this is waited for in the delayed set, not in a worker slot.
RATE_WAIT_IN_PLACE_SECONDS = 1.0
# A delivery whose target is at its concurrency limit is offered again after this long.
GATE_RETRY_SECONDS = 0.5
RECORD_BATCH = 500
# Claims in flight at once: a second one lets entries that arrive during a claim go without waiting for it.
CLAIMERS = 2
IDLE_CONSUMER_MS = 3_600_000


@dataclass
class _Work:
    """A claimed delivery with the stream entries that carried it (duplicates are acknowledged together)."""

    delivery: Delivery
    token: str
    entry_ids: list[str]
    reserved: bool


class Dispatcher:
    def __init__(self, *, concurrency: int | None = None, name: str | None = None) -> None:
        knobs = settings.EVENTHUB
        self.concurrency = concurrency or knobs["DISPATCH_CONCURRENCY"]
        self.name = name or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.visibility = knobs["VISIBILITY_TIMEOUT_SECONDS"]
        self._busy = 0
        self._tasks: set[asyncio.Task] = set()
        self._finished: list[tuple[attempts.Finished, list[str]]] = []
        self._unclaimed: list[tuple[str, dict]] = []
        self._suspect_entries = 0
        self._gates: dict[int, tuple[int, asyncio.Semaphore]] = {}
        self._db_threads = CLAIMERS + 1  # and one for the recorder
        self._db = ThreadPoolExecutor(max_workers=self._db_threads, thread_name_prefix="dispatch-db")

    # -- lifecycle ---------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set, then drain what is in hand and return."""
        self._stop = stop
        self._slot_freed = asyncio.Event()
        self._finished_ready = asyncio.Event()
        self._unclaimed_ready = asyncio.Event()
        self._intake_closed = False
        self._draining = False
        self._sweep_now = asyncio.Event()
        self._suspects: asyncio.Queue[tuple[uuid.UUID, list[str]] | None] = asyncio.Queue()
        self.transport = AsyncTransport(self.name)
        self.sender = WebhookSender(self.concurrency)
        log.info("dispatch worker %s started (concurrency %d)", self.name, self.concurrency)
        try:
            await self._retry_forever(self.transport.ensure_group)
            recorder = asyncio.create_task(self._record_loop())
            claimers = [asyncio.create_task(self._claim_loop()) for _ in range(CLAIMERS)]
            suspects = asyncio.create_task(self._suspect_loop())
            helpers = [
                asyncio.create_task(self._every(self._reclaim, settings.EVENTHUB["RECLAIM_INTERVAL_SECONDS"])),
                asyncio.create_task(self._every(self._move_due, settings.EVENTHUB["DELAYED_POLL_SECONDS"])),
                asyncio.create_task(self._sweep_loop()),
            ]
            await self._read_loop()
            self._intake_closed = True
            self._unclaimed_ready.set()
            await asyncio.gather(*claimers)
            for helper in helpers:
                helper.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            self._suspects.put_nowait(None)
            await suspects
            while self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)
            self._draining = True
            self._finished_ready.set()
            await recorder
        finally:
            await self.sender.close()
            await self.transport.close()
            await self._close_db()
            log.info("dispatch worker %s stopped", self.name)

    async def _close_db(self) -> None:
        """Close each DB thread's connection, so a stopped worker leaves no session behind."""
        barrier = threading.Barrier(self._db_threads)

        def close() -> None:
            barrier.wait(timeout=5)
            connection.close()

        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(loop.run_in_executor(self._db, close) for _ in range(self._db_threads)), return_exceptions=True
        )
        self._db.shutdown(wait=False)

    async def _db_call(self, function: Callable[..., T], *args) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._db, partial(_in_db_thread, function, *args))

    async def _retry_forever(self, step: Callable) -> None:
        while not self._stop.is_set():
            try:
                await step()
                return
            except (redis.RedisError, OSError):
                log.warning("Redis unavailable; retrying in 1 s", exc_info=True)
                await self._pause(1.0)

    async def _pause(self, seconds: float) -> None:
        await self._wait_for(self._stop, seconds)

    @staticmethod
    async def _wait_for(event: asyncio.Event, seconds: float) -> None:
        with suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)

    async def _every(self, step: Callable, seconds: float) -> None:
        while not self._stop.is_set():
            try:
                await step()
            except (redis.RedisError, OSError, DatabaseError):
                log.warning("%s failed; trying again in a second", step.__name__, exc_info=True)
                await self._pause(max(seconds, 1.0))  # not ten warnings a second while Redis is down
                continue
            await self._pause(seconds)

    # -- intake ------------------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        while not self._stop.is_set():
            free = self.concurrency - self._busy
            if free <= 0 or self._suspect_entries:
                self._slot_freed.clear()
                await self._wait_for(self._slot_freed, 1.0)
                continue
            try:
                entries = await self.transport.read(count=free, block_ms=1000)
            except (redis.RedisError, OSError):
                log.warning("reading the stream failed; retrying in 1 s", exc_info=True)
                self._sweep_now.set()
                await self._pause(1.0)
                continue
            if entries:
                self._busy += len(entries)
                self._unclaimed += entries
                self._unclaimed_ready.set()

    async def _claim_loop(self) -> None:
        """Claim every entry read so far, in one call, as soon as the previous claim returns: no timer, and
        no claim per entry under load. Ends when the reader has stopped and everything it read was claimed."""
        while True:
            if not self._unclaimed:
                if self._intake_closed:
                    return
                self._unclaimed_ready.clear()
                await self._unclaimed_ready.wait()
                continue
            entries, self._unclaimed = self._unclaimed, []
            try:
                await self._claim(entries, taken_over=False)
            except Exception:  # noqa: BLE001 - a bug must not stop intake: the entries stay pending, taken over later
                log.exception("claiming %d entries failed unexpectedly", len(entries))
                self._release(len(entries))

    async def _reclaim(self) -> None:
        free = self.concurrency - self._busy
        if free > 0 and not self._suspect_entries:
            entries = await self.transport.claim_abandoned(int(self.visibility * 1000), free)
            if entries:
                log.info("took over %d entries abandoned by another consumer", len(entries))
                self._start(entries, taken_over=True)

    async def _move_due(self) -> None:
        while await self.transport.move_due() >= 1000:
            pass

    def _start(self, entries: list[tuple[str, dict]], *, taken_over: bool = False) -> None:
        self._busy += len(entries)
        self._spawn(self._claim(entries, taken_over))

    def _spawn(self, coroutine) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _release(self, count: int) -> None:
        self._busy -= count
        self._slot_freed.set()

    async def _claim(self, entries: list[tuple[str, dict]], taken_over: bool) -> None:
        """Claim the entries' deliveries in one UPDATE, start what was claimed, queue abandoned deliveries
        as suspects, and acknowledge entries that carry nothing to do.

        An entry taken over from another consumer whose delivery is still leased stays pending: the lease
        may run out soon (the consumer is dead), and then the next takeover finds it abandoned.
        """
        by_delivery: dict[str, list[str]] = {}
        reserved: set[str] = set()
        for entry_id, fields in entries:
            delivery_id, holds_slot = delivery_of(fields)
            by_delivery.setdefault(delivery_id, []).append(entry_id)
            if holds_slot:
                reserved.add(delivery_id)
        token = secrets.token_hex(8)
        try:
            claim = await self._db_call(leases.claim, leases.parse_ids(list(by_delivery)), token)
        except DatabaseError:
            # Entries stay pending in Redis; after the visibility timeout they are taken over.
            log.warning("claiming %d deliveries failed; they will be retried", len(by_delivery), exc_info=True)
            self._release(len(entries))
            return
        for delivery in claim.deliveries:
            work = _Work(delivery, token, by_delivery[str(delivery.id)], str(delivery.id) in reserved)
            self._spawn(self._deliver(work))
        claimed = {str(d.id) for d in claim.deliveries}
        for delivery_id in claim.abandoned:
            entry_ids = by_delivery[str(delivery_id)]
            self._suspect_entries += len(entry_ids)
            self._suspects.put_nowait((delivery_id, entry_ids))
        busy = claimed | {str(i) for i in claim.abandoned}
        kept = {str(i) for i in claim.held_elsewhere} if taken_over else set()
        idle = [(d, ids) for d, ids in by_delivery.items() if d not in busy]
        await self._ack([e for delivery_id, ids in idle if delivery_id not in kept for e in ids])
        self._release(sum(len(ids) for _, ids in idle))

    async def _suspect_loop(self) -> None:
        """Retry abandoned deliveries one at a time, alone in the process, each recorded before the next."""
        while (item := await self._suspects.get()) is not None:
            delivery_id, entry_ids = item
            try:
                if not self._stop.is_set():
                    await self._retry_suspect(delivery_id, entry_ids)
                    continue
                self._release(len(entry_ids))  # stopping: the entries stay pending for another worker
            except (redis.RedisError, OSError, DatabaseError):
                log.warning("taking over %s failed; it stays pending", delivery_id, exc_info=True)
                self._release(len(entry_ids))
            finally:
                self._suspect_entries -= len(entry_ids)

    async def _retry_suspect(self, delivery_id: uuid.UUID, entry_ids: list[str]) -> None:
        while self._busy > self._suspect_entries:  # everything else finished, recorded and acknowledged
            self._slot_freed.clear()
            await self._wait_for(self._slot_freed, 0.1)
        token = secrets.token_hex(8)
        delivery, poison = await self._db_call(leases.take_over, delivery_id, token, self.name)
        if delivery is None or poison:
            await self._ack(entry_ids)
            self._release(len(entry_ids))
            if poison:
                log.warning("delivery %s keeps killing workers: dead-lettered as worker_lost", delivery_id)
                await self._after_terminal([delivery])
            return
        log.info("retrying delivery %s alone: its worker was lost (%d times)", delivery_id, delivery.worker_losses)
        await self._deliver(_Work(delivery, token, entry_ids, reserved=False))
        await self._flush()

    async def _ack(self, entry_ids: list[str]) -> None:
        try:
            await self.transport.ack(entry_ids)
        except (redis.RedisError, OSError):
            # Unacknowledged entries are taken over later and find nothing to claim: harmless.
            log.warning("acknowledging %d entries failed", len(entry_ids), exc_info=True)

    async def _after_terminal(self, deliveries: list[Delivery]) -> None:
        """Release ordered groups waiting behind finished deliveries, and tell live pages."""
        try:
            await self.transport.add(await self._db_call(leases.next_in_order, deliveries))
        except (redis.RedisError, OSError, DatabaseError):
            log.warning("releasing ordered groups failed; the sweeper will", exc_info=True)
        broadcast.deliveries_changed(deliveries)

    # -- delivery ----------------------------------------------------------------------------------

    async def _deliver(self, work: _Work) -> None:
        delivery = work.delivery
        target = delivery.target
        attempted = False
        try:
            if target is None:
                outcome = _refused(DeadReason.TARGET_DELETED, "the target was deleted")
            elif not target.enabled or not target.rule.is_enabled:
                outcome = _refused(DeadReason.TARGET_DISABLED, "the target or its rule is disabled")
            elif too_old(delivery, target, datetime.now(UTC)):  # timezone.now(), minus a settings lookup
                age = target.maximum_event_age_seconds
                outcome = _refused(DeadReason.MAXIMUM_EVENT_AGE, f"older than the maximum event age ({age} s)")
            else:
                if target.rate_limit_per_second and not work.reserved and await self._defer_for_rate(work, target):
                    return
                gate = self._gate(target)
                if isinstance(gate, asyncio.Semaphore) and gate.locked():
                    # Waiting here would hold one of this worker's slots: a hanging target would take them
                    # all and starve healthy ones. The delivery comes back when the target has room.
                    await self._defer(work, GATE_RETRY_SECONDS)
                    return
                async with gate:
                    outcome, attempted = await self._attempt(delivery, target)
        except (redis.RedisError, OSError, DatabaseError):
            log.warning("delivery %s interrupted before it was sent; handing it back", delivery.id, exc_info=True)
            await self._hand_back(work)
            return
        except Exception as error:  # noqa: BLE001 - a bug must not leak a slot: recorded as a failed attempt
            log.exception("delivery %s failed unexpectedly", delivery.id)
            outcome = Outcome(started_at=timezone.now(), error=f"internal error: {type(error).__name__}: {error}")
            attempted = True
        if outcome.target_gone:
            await self._disable_gone_target(delivery)
        finished = attempts.Finished(delivery, work.token, outcome, worker=self.name, attempted=attempted)
        self._finished.append((finished, work.entry_ids))
        self._finished_ready.set()

    async def _disable_gone_target(self, delivery: Delivery) -> None:
        """The target answered 410 Gone: disable it and dead-letter what waits for it (targets.py). Done
        before the attempt is recorded, so deliveries released behind this one find the target disabled."""
        try:
            disabled = await self._db_call(targets.disable_gone_target, delivery.target_id, delivery.id)
        except DatabaseError:
            log.warning("disabling target %s after a 410 failed; the next 410 will", delivery.target_id, exc_info=True)
            return
        broadcast.deliveries_changed(disabled.dead)

    async def _hand_back(self, work: _Work) -> None:
        """Give a claimed delivery back untried, due in a second; its entry stays pending in Redis."""
        try:
            due = timezone.now() + timedelta(seconds=1)
            await self._db_call(leases.give_back, work.delivery, work.token, due)
        except DatabaseError:
            log.warning("handing back %s failed; its lease will run out", work.delivery.id, exc_info=True)
        self._release(len(work.entry_ids))

    async def _defer_for_rate(self, work: _Work, target: Target) -> bool:
        """Wait for the target's rate-limit slot here if it is near; else hand the delivery back until then."""
        wait = await self.transport.reserve_slot(target.id, target.rate_limit_per_second)
        if wait <= RATE_WAIT_IN_PLACE_SECONDS:
            await asyncio.sleep(wait)
            return False
        await self._defer(work, wait, reserved=True)
        return True

    async def _defer(self, work: _Work, wait: float, *, reserved: bool = False) -> None:
        """Give the delivery back, untried, due in `wait` seconds, through the delayed set."""
        due = timezone.now() + timedelta(seconds=wait)
        if await self._db_call(leases.give_back, work.delivery, work.token, due):
            await self.transport.schedule([(work.delivery.id, due, reserved)])
        await self._ack(work.entry_ids)
        self._release(len(work.entry_ids))

    def _gate(self, target: Target) -> AbstractAsyncContextManager:
        """The target's concurrency limit in this process (recreated when the limit is edited)."""
        if not target.max_concurrency:
            return nullcontext()
        limit, gate = self._gates.get(target.id, (0, None))
        if gate is None or limit != target.max_concurrency:
            gate = asyncio.Semaphore(target.max_concurrency)
            self._gates[target.id] = (target.max_concurrency, gate)
        return gate

    async def _attempt(self, delivery: Delivery, target: Target) -> tuple[Outcome, bool]:
        event = delivery.event
        rule = target.rule
        knobs = settings.EVENTHUB
        context = RuleContext(
            name=rule.name, arn=f"arn:aws:events:{knobs['REGION']}:{knobs['ACCOUNT']}:rule/{rule.bus}/{rule.name}"
        )
        try:
            payload = target_input(
                event.envelope(),
                target.input_path,
                target.input_transformer,
                context,
                event.received_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                replay_name=delivery.replay_name,
            )
        except InvalidTransform as error:
            return _refused(DeadReason.TRANSFORM_FAILED, str(error)), False
        if target.kind == Target.Kind.PYTHON:
            return await call_handler(target.handler, payload, target.timeout_seconds), True
        if isinstance(payload, str):
            body, content_type = payload.encode(), "text/plain; charset=utf-8"
        else:
            body, content_type = dumps(payload), "application/json"
        outcome = await self.sender.send(
            url=target.url,
            method=target.method,
            body=body,
            content_type=content_type,
            extra_headers=target.headers or {},
            secret=target.signing_secret,
            message_id=delivery.webhook_id,
            timeout=target.timeout_seconds,
            replay_name=delivery.replay_name,
        )
        return outcome, True

    # -- recording ---------------------------------------------------------------------------------

    async def _record_loop(self) -> None:
        """Runs until the worker drains; never cancelled, so a batch is never cut off between commit and ack."""
        while True:
            await self._finished_ready.wait()
            self._finished_ready.clear()
            await self._flush()
            if self._draining and not self._finished:
                return

    async def _flush(self) -> None:
        """Write finished attempts, then (after commit) schedule retries, release groups and acknowledge."""
        while self._finished:
            batch, self._finished = self._finished[:RECORD_BATCH], self._finished[RECORD_BATCH:]
            try:
                recorded = await self._db_call(attempts.record_attempts, [finished for finished, _ in batch])
            except DatabaseError:
                log.warning("recording %d attempts failed; retrying in 1 s", len(batch), exc_info=True)
                self._finished = batch + self._finished
                await asyncio.sleep(1.0)
                continue
            entry_ids = [entry for _, entries in batch for entry in entries]
            try:
                await self.transport.schedule((i, due, False) for i, due in recorded.retries)
                await self.transport.add(recorded.next_in_order)
            except (redis.RedisError, OSError):
                log.warning("scheduling after an attempt failed; the sweeper will catch up", exc_info=True)
            await self._ack(entry_ids)
            self._release(len(entry_ids))
            broadcast.deliveries_changed(recorded.changed)

    # -- sweeper -----------------------------------------------------------------------------------

    async def _sweep_loop(self) -> None:
        knobs = settings.EVENTHUB
        interval = knobs["SWEEP_INTERVAL_SECONDS"]
        self._sweep_now.set()  # a fresh worker sweeps at once: it may be starting after a crash
        while not self._stop.is_set():
            await self._wait_for(self._sweep_now, interval * random.uniform(0.8, 1.2))
            self._sweep_now.clear()
            try:
                if await self.transport.try_lock(sweeper_lock_key(), interval * 0.8):
                    await self.sweep()
            except (redis.RedisError, OSError, DatabaseError):
                log.warning("sweep failed; trying again", exc_info=True)

    async def sweep(self) -> int:
        """Re-enqueue unfinished deliveries Redis lost; trim acknowledged entries; forget dead consumers."""
        knobs = settings.EVENTHUB
        await self.transport.ensure_group()
        ids = await self._db_call(leases.overdue, knobs["SWEEP_GRACE_SECONDS"], knobs["SWEEP_BATCH"])
        if ids:
            log.warning("sweeper re-enqueued %d overdue deliveries", len(ids))
            await self.transport.add(ids)
        await self.transport.trim()
        await self.transport.forget_idle_consumers(IDLE_CONSUMER_MS)
        return len(ids)


def _refused(reason: str, message: str) -> Outcome:
    return Outcome(started_at=timezone.now(), retriable=False, dead_reason=reason, error=message)


def _in_db_thread(function: Callable[..., T], *args) -> T:
    try:
        return function(*args)
    except DatabaseError:
        # The connection may be broken (database restarted); the next call opens a fresh one.
        connection.close()
        raise
