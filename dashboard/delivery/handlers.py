"""Python targets: in-process consumers (projections and the like) named by a dotted path.

A handler is called with the target's input (the event envelope unless transformed). It succeeds by
returning; an exception is a failed attempt, retried like a 5xx, with the traceback's last line as
the error. Sync handlers run on a thread pool (they may use the ORM); async ones on the event loop.
"""

import asyncio
import importlib
import inspect
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache

from django.db import close_old_connections
from django.utils import timezone

from .policy import Outcome

_threads = ThreadPoolExecutor(max_workers=8, thread_name_prefix="python-target")


class HandlerNotFound(ImportError):
    pass


@cache
def resolve_handler(path: str) -> Callable:
    """Import `package.module.callable` once per process."""
    module_name, _, attribute = path.rpartition(".")
    if not module_name:
        raise HandlerNotFound(f"{path!r} is not a dotted path such as package.module.handler")
    try:
        handler = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise HandlerNotFound(f"cannot import {path!r}: {error}") from error
    if not callable(handler):
        raise HandlerNotFound(f"{path!r} is not callable")
    return handler


def _call_in_thread(handler: Callable, payload: object) -> None:
    try:
        handler(payload)
    finally:
        close_old_connections()


async def call_handler(path: str, payload: object, timeout: float) -> Outcome:
    outcome = Outcome(started_at=timezone.now())
    began = time.perf_counter()
    try:
        handler = resolve_handler(path)
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
