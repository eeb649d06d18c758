"""The worker's database calls, on a few threads of its own.

The ORM is synchronous and each thread keeps its own connection, so the event loop hands a whole batch
(a claim, a batch of outcomes) to a thread in one hop, never one hop per delivery.
"""

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

from django.db import DatabaseError, connection

T = TypeVar("T")


class DatabaseThreads:
    def __init__(self, threads: int) -> None:
        self._threads = threads
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="dispatch-db")

    async def call(self, function: Callable[..., T], *args) -> T:
        """`function(*args)` on a database thread."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, partial(_in_db_thread, function, *args))

    async def close(self) -> None:
        """Close each thread's connection, so a stopped worker leaves no session behind."""
        barrier = threading.Barrier(self._threads)

        def close() -> None:
            barrier.wait(timeout=5)
            connection.close()

        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(loop.run_in_executor(self._pool, close) for _ in range(self._threads)), return_exceptions=True
        )
        self._pool.shutdown(wait=False)


def _in_db_thread(function: Callable[..., T], *args) -> T:
    try:
        return function(*args)
    except DatabaseError:
        # The connection may be broken (database restarted); the next call opens a fresh one.
        connection.close()
        raise
