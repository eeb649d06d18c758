"""Pushes to live dashboards: the only caller of the channel layer's group_send.

A push is a hint that something changed; browsers then read the database from their cursor, so a
dropped push (the channel layer is at-most-once) costs freshness, never correctness. Hints are
coalesced per group and sent from one background thread at most every HINT_INTERVAL seconds, so
publishing never waits on the channel layer and 1,000 events/s cost ten pushes a second, not 1,000.
"""

import asyncio
import logging
import threading

from channels.layers import get_channel_layer

log = logging.getLogger(__name__)

EVENTS_GROUP = "events"
HINT_INTERVAL = 0.1


class _HintSender:
    """Latest-wins mailbox per group, drained by a daemon thread with its own event loop."""

    def __init__(self) -> None:
        self._pending: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._wakeup = threading.Event()
        self._thread: threading.Thread | None = None

    def offer(self, group: str, message: dict) -> None:
        with self._lock:
            self._pending[group] = message
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="broadcast-hints", daemon=True)
                self._thread.start()
        self._wakeup.set()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        while True:
            self._wakeup.wait()
            self._wakeup.clear()
            with self._lock:
                batch, self._pending = self._pending, {}
            if batch:
                loop.run_until_complete(self._send_all(batch))
            threading.Event().wait(HINT_INTERVAL)

    @staticmethod
    async def _send_all(batch: dict[str, dict]) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        for group, message in batch.items():
            try:
                await layer.group_send(group, message)
            except Exception:  # noqa: BLE001 - a lost hint must never break the sender; clients catch up
                log.warning("live update to %s not sent", group, exc_info=True)


_sender = _HintSender()


def events_stored(events: list) -> None:
    """Tell live event tails that the log grew; called after commit."""
    if events:
        _sender.offer(EVENTS_GROUP, {"type": "events.stored", "position": max(e.position for e in events)})
