"""Pushes to live dashboards: the only caller of the channel layer's group_send.

A push is a hint that something changed; browsers then read the database from their cursor, so a
dropped push (the channel layer is at-most-once) costs freshness, never correctness.

Event hints are coalesced: however fast events are published, this process sends at most one hint
per HINT_INTERVAL_SECONDS, carrying the newest position, from a background thread. The publish path
only records the position, so neither Redis nor a browser can slow it down.
"""

import asyncio
import logging
import threading
import time

from channels.layers import get_channel_layer

log = logging.getLogger(__name__)

EVENTS_GROUP = "events"
DELIVERIES_GROUP = "deliveries"
PROJECTIONS_GROUP = "projections"
REPLAYS_GROUP = "replays"
SCHEMAS_GROUP = "schemas"
_HINT_TYPES = {
    EVENTS_GROUP: "events.stored",
    DELIVERIES_GROUP: "deliveries.changed",
    PROJECTIONS_GROUP: "projections.changed",
    REPLAYS_GROUP: "replays.changed",
    SCHEMAS_GROUP: "schemas.changed",
}
# Ten hints a second is as fast as a person can follow, and the tail batches whatever arrives in between.
HINT_INTERVAL_SECONDS = 0.1


def events_stored(events: list) -> None:
    """Tell live event tails that the log grew; called after commit. Never blocks on the channel layer."""
    if not events:
        return
    _coalescer.offer(EVENTS_GROUP, max(e.position for e in events))


def deliveries_changed(deliveries: list) -> None:
    """Tell live delivery and dead-letter pages that deliveries changed state; called after commit.

    The hint carries only when (Unix milliseconds); pages re-read the deliveries they show.
    """
    if deliveries:
        _coalescer.offer(DELIVERIES_GROUP, time.time_ns() // 1_000_000)


def projections_changed() -> None:
    """Tell the projections page that checkpoints, errors or rebuilds moved; called after commit."""
    _coalescer.offer(PROJECTIONS_GROUP, time.time_ns() // 1_000_000)


def replays_changed() -> None:
    """Tell the replays page that a replay started, progressed or ended; called after commit."""
    _coalescer.offer(REPLAYS_GROUP, time.time_ns() // 1_000_000)


def schemas_changed() -> None:
    """Tell the Schemas pages that a version, a mode or the violation counts changed; called after commit."""
    _coalescer.offer(SCHEMAS_GROUP, time.time_ns() // 1_000_000)


class _HintCoalescer:
    """Keeps the newest position per group and sends it from one thread, at most once per interval.

    The thread owns one event loop for its whole life so the channel layer reuses its Redis connection.
    """

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._lock = threading.Lock()
        self._pending: dict[str, int] = {}
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def offer(self, group: str, position: int) -> None:
        with self._lock:
            self._pending[group] = max(position, self._pending.get(group, 0))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="eventhub-hints", daemon=True)
                self._thread.start()
        self._wake.set()

    def _take(self) -> dict[str, int]:
        with self._lock:
            pending, self._pending = self._pending, {}
            self._wake.clear()
            return pending

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            while True:
                self._wake.wait()
                for group, position in self._take().items():
                    loop.run_until_complete(self._send(group, position))
                # Whatever arrives while we pause is merged into the next hint.
                time.sleep(self._interval)
        finally:
            loop.close()

    @staticmethod
    async def _send(group: str, position: int) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            await layer.group_send(group, {"type": _HINT_TYPES[group], "position": position})
        except Exception:  # noqa: BLE001 - a lost hint costs freshness only; the tail re-reads on its heartbeat
            log.warning("live update to %s not sent", group, exc_info=True)


_coalescer = _HintCoalescer(HINT_INTERVAL_SECONDS)
