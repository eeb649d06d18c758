"""The dispatch worker: one asyncio process that moves deliveries from Redis to their targets.

The steps live in modules a test can call one by one; this loop only composes them:
- intake (intake.py): read new entries while fewer than `concurrency` are being sent and fewer than
  `prefetch` are in hand (sent ones wait to be recorded), and claim
  each batch in one UPDATE; two claimers take turns, so entries that arrive during a claim go in the next
  one at once: a lone event goes at once, and under load the batches grow by themselves;
- send (sending.py): each claimed delivery to its target at once, as its own task;
- record (recording.py): whatever finished while the last batch was written, in one transaction, then
  retries scheduled and entries acknowledged;
- maintenance (maintenance.py): due retries moved to the stream, abandoned entries reclaimed, the sweep;
  and a heartbeat (heartbeat.py) so the overview knows which workers are up;
- suspects: deliveries whose worker died mid-attempt are retried one at a time, with nothing else in
  hand, so a poison event (one that kills the process) takes down only itself: after
  WORKER_LOST_LIMIT losses it is dead-lettered as `worker_lost`, and its neighbours are not blamed.

Every entry is acknowledged only after its outcome is committed. SIGTERM stops reading, lets in-flight
deliveries finish and be recorded, then exits.
"""

import asyncio
import logging
import os
import random
import secrets
import socket
import uuid
from collections.abc import Awaitable, Callable
from contextlib import suppress

import redis
from django.conf import settings
from django.db import DatabaseError

from . import heartbeat, intake, maintenance, recording
from .attempts import Finished
from .database import DatabaseThreads
from .intake import Work
from .sending import Sending
from .transport import AsyncTransport
from .webhook import WebhookSender

log = logging.getLogger(__name__)

# Claims in flight at once: a second one lets entries that arrive during a claim go without waiting for it.
CLAIMERS = 2


class Dispatcher:
    def __init__(self, *, concurrency: int | None = None, prefetch: int | None = None, name: str | None = None) -> None:
        self.concurrency = concurrency or settings.EVENTHUB["DISPATCH_CONCURRENCY"]
        # Sent deliveries wait to be recorded in batches without holding a sending slot, so the next batch is
        # claimed and sent meanwhile: a worker whose slots all waited for their batch's record delivered a
        # third less (docs/benchmarks/delivery.md). Nothing claimed waits for a slot: its lease runs meanwhile.
        self.prefetch = max(prefetch or settings.EVENTHUB["DISPATCH_PREFETCH"], self.concurrency)
        self.name = name or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self._busy = 0  # entries in hand: read and not yet acknowledged or handed back
        self._sending = 0  # entries read whose attempt has not finished yet (the part of _busy not yet sent)
        self._tasks: set[asyncio.Task] = set()
        self._finished: list[tuple[Finished, list[str]]] = []
        self._unclaimed: list[tuple[str, dict]] = []
        self._suspect_entries = 0

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
        self.db = DatabaseThreads(CLAIMERS + 1)  # and one for the recorder
        self.sending = Sending(self.db, self.transport, WebhookSender(), self.name)
        knobs = settings.EVENTHUB
        log.info("dispatch worker %s started (concurrency %d, prefetch %d)", self.name, self.concurrency, self.prefetch)
        try:
            await self._retry_forever(self.transport.ensure_group)
            recorder = asyncio.create_task(self._record_loop())
            claimers = [asyncio.create_task(self._claim_loop()) for _ in range(CLAIMERS)]
            suspects = asyncio.create_task(self._suspect_loop())
            helpers = [
                asyncio.create_task(self._every(self._reclaim, knobs["RECLAIM_INTERVAL_SECONDS"])),
                asyncio.create_task(self._every(self._move_due_retries, knobs["DELAYED_POLL_SECONDS"])),
                asyncio.create_task(self._sweep_loop()),
                asyncio.create_task(self._every(self._beat, heartbeat.HEARTBEAT_SECONDS)),
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
            with suppress(redis.RedisError, OSError):
                await heartbeat.sign_off(self.transport.redis, self.name)
            await self.sending.sender.close()
            await self.transport.close()
            await self.db.close()
            log.info("dispatch worker %s stopped", self.name)

    # -- plumbing ----------------------------------------------------------------------------------

    async def _retry_forever(self, step: Callable[[], Awaitable]) -> None:
        while not self._stop.is_set():
            try:
                await step()
                return
            except (redis.RedisError, OSError):
                log.warning("Redis unavailable; retrying in 1 s", exc_info=True)
                await self._pause(1.0)

    async def _pause(self, seconds: float) -> None:
        await _wait_for(self._stop, seconds)

    async def _every(self, step: Callable[[], Awaitable], seconds: float) -> None:
        while not self._stop.is_set():
            try:
                await step()
            except (redis.RedisError, OSError, DatabaseError):
                log.warning("%s failed; trying again in a second", step.__name__, exc_info=True)
                await self._pause(max(seconds, 1.0))  # not ten warnings a second while Redis is down
                continue
            await self._pause(seconds)

    def _spawn(self, coroutine: Awaitable) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _room(self) -> int:
        return min(self.concurrency - self._sending, self.prefetch - self._busy)

    def _take(self, count: int) -> None:
        self._busy += count
        self._sending += count

    def _release(self, count: int, *, sent: bool = False) -> None:
        """Entries leave this worker's hands; `sent` ones already left the sending count (see `_sent`)."""
        self._busy -= count
        if not sent:
            self._sending -= count
        self._slot_freed.set()

    def _sent(self, count: int) -> None:
        self._sending -= count
        self._slot_freed.set()

    # -- intake ------------------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        while not self._stop.is_set():
            free = self._room()
            if free <= 0 or self._suspect_entries:
                self._slot_freed.clear()
                await _wait_for(self._slot_freed, 1.0)
                continue
            try:
                entries = await self.transport.read(count=free, block_ms=1000)
            except (redis.RedisError, OSError):
                log.warning("reading the stream failed; retrying in 1 s", exc_info=True)
                self._sweep_now.set()
                await self._pause(1.0)
                continue
            if entries:
                self._take(len(entries))
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

    async def _beat(self) -> None:
        await heartbeat.beat(self.transport.redis, self.name)

    async def _move_due_retries(self) -> None:
        await maintenance.move_due_retries(self.transport)

    async def _reclaim(self) -> None:
        room = self._room()
        if room > 0 and not self._suspect_entries:
            entries = await maintenance.reclaim_abandoned(self.transport, room)
            if entries:
                self._take(len(entries))
                self._spawn(self._claim(entries, taken_over=True))

    async def _claim(self, entries: list[tuple[str, dict]], *, taken_over: bool) -> None:
        try:
            claimed = await intake.claim_entries(self.db, self.transport, entries, taken_over=taken_over)
        except DatabaseError:
            # Entries stay pending in Redis; after the visibility timeout they are taken over.
            log.warning("claiming %d entries failed; they will be retried", len(entries), exc_info=True)
            self._release(len(entries))
            return
        for work in claimed.work:
            self._spawn(self._send(work))
        for delivery_id, entry_ids in claimed.suspects:
            self._suspect_entries += len(entry_ids)
            self._suspects.put_nowait((delivery_id, entry_ids))
        self._release(len(claimed.acknowledged) + len(claimed.kept))

    async def _suspect_loop(self) -> None:
        """Retry abandoned deliveries one at a time, alone in the process, each recorded before the next."""
        while (item := await self._suspects.get()) is not None:
            delivery_id, entry_ids = item
            sent = False
            try:
                if not self._stop.is_set():  # when stopping, the entries stay pending for another worker
                    sent = await self._retry_suspect(delivery_id, entry_ids)
            except (redis.RedisError, OSError, DatabaseError):
                log.warning("taking over %s failed; it stays pending", delivery_id, exc_info=True)
            finally:
                self._suspect_entries -= len(entry_ids)
            if not sent:
                self._release(len(entry_ids))

    async def _retry_suspect(self, delivery_id: uuid.UUID, entry_ids: list[str]) -> bool:
        """Take the delivery over once everything else in hand is recorded, send it and record it.
        False when there was nothing to send (the caller then frees its slots)."""
        while self._busy > self._suspect_entries:
            self._slot_freed.clear()
            await _wait_for(self._slot_freed, 0.1)
        work = await intake.take_over(self.db, self.transport, delivery_id, entry_ids, self.name)
        if work is None:
            return False
        await self._send(work)
        await self._flush()
        return True

    # -- send and record ---------------------------------------------------------------------------

    async def _send(self, work: Work) -> None:
        finished = await self.sending.send(work)
        if finished is None:  # went back untried
            self._release(len(work.entry_ids))
            return
        self._sent(len(work.entry_ids))
        self._finished.append((finished, work.entry_ids))
        self._finished_ready.set()

    async def _record_loop(self) -> None:
        """Runs until the worker drains; never cancelled, so a batch is never cut off between commit and ack."""
        while True:
            await self._finished_ready.wait()
            self._finished_ready.clear()
            await self._flush()
            if self._draining and not self._finished:
                return

    async def _flush(self) -> None:
        while self._finished:
            batch = self._finished[: recording.RECORD_BATCH]
            self._finished = self._finished[recording.RECORD_BATCH :]
            try:
                await recording.record(self.db, self.transport, batch)
            except DatabaseError:
                log.warning("recording %d attempts failed; retrying in 1 s", len(batch), exc_info=True)
                self._finished = batch + self._finished
                await asyncio.sleep(1.0)
                continue
            self._release(sum(len(entries) for _, entries in batch), sent=True)

    # -- maintenance -------------------------------------------------------------------------------

    async def _sweep_loop(self) -> None:
        interval = settings.EVENTHUB["SWEEP_INTERVAL_SECONDS"]
        self._sweep_now.set()  # a fresh worker sweeps at once: it may be starting after a crash
        while not self._stop.is_set():
            await _wait_for(self._sweep_now, interval * random.uniform(0.8, 1.2))
            self._sweep_now.clear()
            try:
                await maintenance.sweep_if_first(self.db, self.transport)
            except (redis.RedisError, OSError, DatabaseError):
                log.warning("sweep failed; trying again", exc_info=True)


async def _wait_for(event: asyncio.Event, seconds: float) -> None:
    with suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)
