"""Where the publish views run their database work.

Requests on the publish fast path (see fastpath.py) store events on a small pool of long-lived threads,
each with its own database connection, so several batches commit at once (PostgreSQL groups their
WAL flushes). Elsewhere — Django's full stack, the test client — the work stays on Django's
thread-sensitive executor, which keeps test transactions visible.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from functools import cache

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections

from dashboard.publishing import EntryResult, publish_entries

_use_ingest_pool: ContextVar[bool] = ContextVar("use_ingest_pool", default=False)


@cache
def _ingest_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=settings.EVENTHUB["INGEST_THREADS"], thread_name_prefix="ingest")


def use_ingest_pool() -> None:
    """Called by the fast path for the request it is serving (the flag lives in the request's context)."""
    _use_ingest_pool.set(True)


def _publish_on_pool_thread(entries: list[object]) -> list[EntryResult]:
    try:
        return publish_entries(entries)
    finally:
        close_old_connections()


async def publish(entries: list[object]) -> list[EntryResult]:
    """Store entries; shielded, so a client that hangs up cannot cancel a write that is under way."""
    if _use_ingest_pool.get():
        call = sync_to_async(_publish_on_pool_thread, thread_sensitive=False, executor=_ingest_pool())
    else:
        call = sync_to_async(publish_entries)
    return await asyncio.shield(call(entries))
