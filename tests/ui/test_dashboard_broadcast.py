"""Live-update hints: coalesced so a fast publisher sends few hints, and the newest position always arrives."""

import asyncio
from types import SimpleNamespace

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from dashboard.ui import broadcast


async def collect(layer, channel: str, *, seconds: float) -> list[dict]:
    messages = []
    deadline = asyncio.get_running_loop().time() + seconds
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        try:
            messages.append(await asyncio.wait_for(layer.receive(channel), timeout=left))
        except TimeoutError:
            break
    return messages


async def test_burst_of_publishes_sends_few_hints_ending_with_the_newest_position():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(broadcast.EVENTS_GROUP, channel)

    def burst() -> None:
        for position in range(1, 501):
            broadcast.events_stored([SimpleNamespace(position=position)])

    await sync_to_async(burst)()
    hints = await collect(layer, channel, seconds=0.6)
    assert hints, "no hint arrived"
    assert len(hints) <= 6  # one right away, then at most one per interval while the burst lasts
    assert hints[-1] == {"type": "events.stored", "position": 500}


async def test_no_events_send_no_hint():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(broadcast.EVENTS_GROUP, channel)
    broadcast.events_stored([])
    assert await collect(layer, channel, seconds=0.3) == []
