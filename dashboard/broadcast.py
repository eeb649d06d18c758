"""Pushes to live dashboards: the only caller of the channel layer's group_send.

A push is a hint that something changed; browsers then read the database from their cursor, so a
dropped push (the channel layer is at-most-once) costs freshness, never correctness.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

log = logging.getLogger(__name__)

EVENTS_GROUP = "events"


def events_stored(events: list) -> None:
    """Tell live event tails that the log grew; called after commit."""
    if not events:
        return
    _send(EVENTS_GROUP, {"type": "events.stored", "position": max(e.position for e in events)})


def _send(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:  # noqa: BLE001 - a lost hint must never fail a committed publish
        log.warning("live update to %s not sent", group, exc_info=True)
