"""Python targets: in-process consumers (projections and the like), named among the registered handlers.

A handler is called with the target's input (the event envelope unless transformed). It succeeds by
returning; an exception is a failed attempt, retried like a 5xx, with the traceback's last line as
the error. Sync handlers run on a thread pool (they may use the ORM); async ones on the event loop.
Only registered handlers are called (dashboard.delivery.handler_registry): a target naming anything else is
dead-lettered as a refused destination, and nothing is imported.
"""

import asyncio
import inspect
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections
from django.utils import timezone

from dashboard.delivery.handler_registry import HandlerNotRegistered, get_handler

from .policy import DeadReason, Outcome

_threads = ThreadPoolExecutor(max_workers=8, thread_name_prefix="python-target")


def _call_in_thread(handler: Callable, payload: object) -> None:
    try:
        handler(payload)
    finally:
        close_old_connections()


async def call_handler(name: str, payload: object, timeout: float) -> Outcome:
    outcome = Outcome(started_at=timezone.now())
    try:
        handler = get_handler(name)
    except HandlerNotRegistered as error:
        outcome.retriable, outcome.dead_reason, outcome.error = False, DeadReason.DESTINATION_REFUSED, str(error)
        return outcome
    began = time.perf_counter()
    try:
        if inspect.iscoroutinefunction(handler):
            await asyncio.wait_for(handler(payload), timeout)
        else:
            loop = asyncio.get_running_loop()
            await asyncio.wait_for(loop.run_in_executor(_threads, _call_in_thread, handler, payload), timeout)
        outcome.succeeded = True
    except TimeoutError:
        outcome.error = f"handler did not return within {timeout:g} s"
    except Exception as error:  # noqa: BLE001 - any handler failure is a failed attempt, recorded with its cause
        outcome.error = traceback.format_exception_only(error)[-1].strip()[:1000]
    outcome.duration_ms = (time.perf_counter() - began) * 1000
    return outcome
