"""Where the publish views run their database work.

Requests on the publish fast path (see fastpath.py) are stored by group commit: a request that arrives
while earlier ones are being written waits for the next transaction, which takes every request waiting
by then (up to GROUP_LIMIT entries). Under load one INSERT and one commit serve dozens of requests;
when idle a request is written at once. A group's transaction that fails for a reason one request may
have brought is retried in parts, so one producer's bad input never changes another's answer. The writes
run on a small pool of long-lived threads, each with its own database connection. Elsewhere (Django's
full stack, the test client) the work stays on Django's thread-sensitive executor, which keeps test
transactions visible.
"""

import asyncio
import functools
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from functools import cache
from typing import TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections

from dashboard.ingest.publishing import EntryResult, publish_batches, publish_entries
from dashboard.observability import metrics, tracing

log = logging.getLogger(__name__)
T = TypeVar("T")

# Entries per transaction at most: large enough to amortise a commit, small enough to keep latency low.
GROUP_LIMIT = 1000

# Failures of the store itself (unreachable, locked, out of connections), not of a request's data: retrying
# a group in parts would only multiply the wait.
_STORE_DOWN = (OperationalError, InterfaceError)

_use_ingest_pool: ContextVar[bool] = ContextVar("use_ingest_pool", default=False)


@cache
def _ingest_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=settings.EVENTHUB["INGEST_THREADS"], thread_name_prefix="ingest")


def use_ingest_pool() -> None:
    """Called by the fast path for the request it is serving (the flag lives in the request's context)."""
    _use_ingest_pool.set(True)


def _closing_connections(work: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(work)
    def run(*args) -> T:
        try:
            return work(*args)
        finally:
            close_old_connections()

    return run


_publish_on_pool_thread = _closing_connections(publish_batches)


class StoreUnavailable(Exception):
    """The database refused or lost the transaction: nothing of the request was acknowledged."""

    message = "The event store is unavailable; nothing was acknowledged. Retry (entry ids make a retry idempotent)."


async def run_db_work(work: Callable[..., T], *args) -> T:
    """Run a request's other database work (a key lookup, a stream append): on the ingest pool on the fast
    path, which has no request signals to close connections, else on Django's thread-sensitive executor.
    Shielded, so a client that hangs up cannot cancel a write under way; a database failure is
    StoreUnavailable, which the APIs answer with 503."""
    if _use_ingest_pool.get():
        call = asyncio.get_running_loop().run_in_executor(_ingest_pool(), _closing_connections(work), *args)
    else:
        call = sync_to_async(work)(*args)
    return await _refused_as_unavailable(asyncio.shield(call))


async def _refused_as_unavailable(call: Awaitable[T]) -> T:
    try:
        return await call
    except DatabaseError as error:
        log.warning("the event store refused the transaction", exc_info=True)
        raise StoreUnavailable() from error


class GroupCommit:
    """Gathers the batches of concurrent requests (of one event loop) into shared transactions."""

    def __init__(self, executor: ThreadPoolExecutor, writers: int) -> None:
        self._executor = executor
        self._max_writers = writers
        self._writers = 0
        self._waiting: list[tuple[list[object], asyncio.Future]] = []
        self._tasks: set[asyncio.Task] = set()

    async def publish(self, entries: list[object]) -> list[EntryResult]:
        loop = asyncio.get_running_loop()
        answer = loop.create_future()
        self._waiting.append((entries, answer))
        if self._writers < self._max_writers:
            self._writers += 1
            task = loop.create_task(self._write_while_waiting())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await answer

    def _take_group(self) -> list[tuple[list[object], asyncio.Future]]:
        size, count = 0, 0
        for entries, _ in self._waiting:
            if count and size + len(entries) > GROUP_LIMIT:
                break
            size += len(entries)
            count += 1
        group, self._waiting = self._waiting[:count], self._waiting[count:]
        return group

    async def _write_while_waiting(self) -> None:
        try:
            while self._waiting:
                await self._store(self._take_group())
        finally:
            self._writers -= 1

    async def _store(self, group: list[tuple[list[object], asyncio.Future]]) -> None:
        """Store a group in one transaction. If it fails for a reason one request may have brought (its data
        broke a constraint, or a bug), each half is stored on its own, down to the single request at fault,
        so nobody else hears of it. A store that refuses every transaction is not split: all hear at once."""
        loop = asyncio.get_running_loop()
        try:
            results = await loop.run_in_executor(
                self._executor, _publish_on_pool_thread, [entries for entries, _ in group]
            )
        except Exception as error:  # noqa: BLE001  the transaction failed: its requests hear why, or retry
            if len(group) > 1 and not isinstance(error, _STORE_DOWN):
                half = len(group) // 2
                await self._store(group[:half])
                await self._store(group[half:])
                return
            for _, answer in group:
                if not answer.done():
                    answer.set_exception(error)
        else:
            metrics.record_group_commit(sum(len(entries) for entries, _ in group))
            for (_, answer), result in zip(group, results, strict=True):
                if not answer.done():
                    answer.set_result(result)


_group_commits: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GroupCommit]" = weakref.WeakKeyDictionary()


def _group_commit() -> GroupCommit:
    loop = asyncio.get_running_loop()
    if loop not in _group_commits:
        _group_commits[loop] = GroupCommit(_ingest_pool(), writers=settings.EVENTHUB["INGEST_THREADS"])
    return _group_commits[loop]


async def publish(entries: list[object]) -> list[EntryResult]:
    """Store entries: by group commit on the fast path, else as run_db_work does. Counted in metrics."""
    started = time.perf_counter()
    try:
        with tracing.publish_span(entries):
            if _use_ingest_pool.get():
                results = await _refused_as_unavailable(asyncio.shield(_group_commit().publish(entries)))
            else:
                results = await run_db_work(publish_entries, entries)
    except StoreUnavailable:
        metrics.record_refused(entries, "ServiceUnavailable")
        raise
    metrics.record_published(entries, results, time.perf_counter() - started)
    return results
