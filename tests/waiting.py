"""The suite's one polling helper, for what no event announces: rows written by another process, a page
updated over a WebSocket, a log line."""

import time
from collections.abc import Callable


def wait_until(
    condition: Callable[[], object], timeout: float = 20.0, message: str = "condition", interval: float = 0.02
) -> object:
    """Poll until `condition()` is truthy (returning it), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)
