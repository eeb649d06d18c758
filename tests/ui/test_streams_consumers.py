"""The live sockets of the stream, projections and replays pages."""

import re

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from dashboard.eventsourcing import projection_runner
from dashboard.eventsourcing.replay import parse_spec, start_replay
from dashboard.eventsourcing.streams import StreamName, append
from dashboard.ingest.publishing import EventDraft
from dashboard.shop.orders import create_order
from dashboard.ui.streams.consumers import ProjectionsConsumer, ReplaysConsumer, StreamTimelineConsumer
from eventhub.asgi import application
from tests.dashboard_support import make_viewer

pytestmark = pytest.mark.django_db(transaction=True)

VERSION_ROW = re.compile(r'<tr id="v-(\d+)"')
NOTE = StreamName("Note", "n-1")


def connect(consumer, path: str, user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(consumer.as_asgi(), path)
    communicator.scope["user"] = user
    return communicator


def write(n: int) -> None:
    append(NOTE, [EventDraft(source="notes", detail_type="Written", detail={"n": i}) for i in range(n)])


async def next_frame(communicator: WebsocketCommunicator) -> str:
    message = await communicator.receive_from(timeout=3)
    await communicator.send_json_to({"action": "ack"})
    return message


@pytest.mark.parametrize("path", ["/ws/stream/?type=Note&id=n-1", "/ws/projections/", "/ws/replays/"])
async def test_anonymous_sockets_are_refused(path):
    communicator = WebsocketCommunicator(application, path, headers=[(b"origin", b"http://127.0.0.1")])
    assert not (await communicator.connect())[0]
    await communicator.disconnect()


async def test_stream_socket_sends_only_the_versions_after_the_page():
    user = await database_sync_to_async(make_viewer)()
    await database_sync_to_async(write)(2)
    communicator = connect(StreamTimelineConsumer, "/ws/stream/?type=Note&id=n-1&after=2", user)
    assert (await communicator.connect())[0]
    assert await communicator.receive_nothing(timeout=0.3)
    await database_sync_to_async(write)(2)
    rows = await next_frame(communicator)
    assert [int(v) for v in VERSION_ROW.findall(rows)] == [3, 4]
    assert "&quot;merged&quot;" in rows  # the state after each event, escaped
    assert 'id="stream-version"' in await next_frame(communicator)
    await communicator.disconnect()


async def test_stream_socket_with_a_bad_name_is_refused():
    user = await database_sync_to_async(make_viewer)()
    communicator = connect(StreamTimelineConsumer, "/ws/stream/?type=$all&id=x", user)
    assert not (await communicator.connect())[0]
    await communicator.disconnect()


async def test_projections_socket_sends_the_table_again_when_a_checkpoint_moves():
    user = await database_sync_to_async(make_viewer)()
    communicator = connect(ProjectionsConsumer, "/ws/projections/", user)
    assert (await communicator.connect())[0]
    first = await next_frame(communicator)
    assert "data-position>0<" in first
    await database_sync_to_async(create_order)("ada", [{"sku": "a", "quantity": 1, "price": 1}])
    await database_sync_to_async(projection_runner.catch_up)("order_views")
    moved = await next_frame(communicator)
    assert 'id="projection-rows" hx-swap-oob="true"' in moved
    position = re.search(r'id="projection-order_views".*?data-position>(\d+)<', moved, re.DOTALL)
    assert int(position.group(1)) > 0
    await communicator.disconnect()


async def test_replays_socket_shows_a_new_replay():
    user = await database_sync_to_async(make_viewer)()
    communicator = connect(ReplaysConsumer, "/ws/replays/", user)
    assert (await communicator.connect())[0]
    assert "No replays yet" in await next_frame(communicator)
    spec = await database_sync_to_async(parse_spec)({"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"})
    await database_sync_to_async(start_replay)("fresh", spec)
    assert 'id="replay-fresh" data-state="starting"' in await next_frame(communicator)
    await communicator.disconnect()
