"""The live tail's WebSocket consumer: who may connect, what it sends, and how it batches."""

import asyncio
import re

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from dashboard.delivery import redrive
from dashboard.ui import broadcast, browsing, consumers
from dashboard.ui.consumers import DeadLetterConsumer, EventTailConsumer
from dashboard.ui.streams.consumers import ProjectionsConsumer
from eventhub.asgi import application
from tests.dashboard_support import make_dead_letters, make_viewer, order, publish

pytestmark = pytest.mark.django_db(transaction=True)

ROW = re.compile(r'<tr id="ev-(\d+)"')


def tail(user, query: str = "") -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(EventTailConsumer.as_asgi(), f"/ws/events/?{query}")
    communicator.scope["user"] = user
    return communicator


async def receive_rows(communicator: WebsocketCommunicator, *, timeout: float = 3) -> list[int]:
    message = await communicator.receive_from(timeout=timeout)
    await communicator.send_json_to({"action": "ack"})
    return [int(position) for position in ROW.findall(message)]


async def test_anonymous_socket_is_refused():
    communicator = WebsocketCommunicator(application, "/ws/events/", headers=[(b"origin", b"http://127.0.0.1")])
    connected, _ = await communicator.connect()
    assert not connected
    await communicator.disconnect()


async def test_socket_from_a_foreign_origin_is_refused():
    user = await database_sync_to_async(make_viewer)()
    client = Client()
    await database_sync_to_async(client.force_login)(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    communicator = WebsocketCommunicator(
        application, "/ws/events/", headers=[(b"origin", b"http://evil.example"), (b"cookie", cookie)]
    )
    connected, _ = await communicator.connect()
    assert not connected
    await communicator.disconnect()


async def test_signed_in_user_connects_through_the_full_stack():
    user = await database_sync_to_async(make_viewer)()
    client = Client()
    await database_sync_to_async(client.force_login)(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    communicator = WebsocketCommunicator(
        application,
        "/ws/events/",
        headers=[(b"origin", b"http://127.0.0.1"), (b"cookie", cookie), (b"host", b"127.0.0.1")],
    )
    connected, _ = await communicator.connect()
    assert connected
    await communicator.disconnect()


async def test_new_event_is_pushed_to_the_tail():
    user = await database_sync_to_async(make_viewer)()
    communicator = tail(user)
    assert (await communicator.connect())[0]
    await database_sync_to_async(publish)(order(5))
    message = await communicator.receive_from(timeout=3)
    assert len(ROW.findall(message)) == 1 and "OrderCreated" in message
    await communicator.disconnect()


async def test_pattern_filter_sends_only_matching_events():
    user = await database_sync_to_async(make_viewer)()
    communicator = tail(
        user, "pattern=%7B%22detail%22%3A%7B%22total%22%3A%5B%7B%22numeric%22%3A%5B%22%3E%3D%22%2C1000%5D%7D%5D%7D%7D"
    )
    assert (await communicator.connect())[0]
    await database_sync_to_async(publish)(order(5), order(5000), order(7))
    positions = await receive_rows(communicator)
    assert len(positions) == 1
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_invalid_pattern_socket_is_refused():
    user = await database_sync_to_async(make_viewer)()
    communicator = tail(user, "pattern=%7Bnot-json")
    connected, _ = await communicator.connect()
    assert not connected
    await communicator.disconnect()


async def test_burst_is_batched_with_a_count_of_what_did_not_fit():
    user = await database_sync_to_async(make_viewer)()
    communicator = tail(user)
    assert (await communicator.connect())[0]
    batches = consumers.ROWS_PER_UPDATE  # ten events each: several updates' worth, published as fast as possible
    total = batches * 10
    await database_sync_to_async(lambda: [publish(*[order(n) for n in range(10)]) for _ in range(batches)])()
    shown, skipped = 0, 0
    while shown + skipped < total:
        message = await communicator.receive_from(timeout=3)
        await communicator.send_json_to({"action": "ack"})
        rows = ROW.findall(message)
        assert len(rows) <= consumers.ROWS_PER_UPDATE
        shown += len(rows)
        skipped += sum(int(n) for n in re.findall(r"(\d+) more matching event", message))
    assert shown + skipped == total
    assert skipped > 0
    await communicator.disconnect()


async def test_unacknowledged_updates_stop_at_the_limit():
    # A browser that does not keep up gets at most MAX_UNACKED updates; the rest waits in the database.
    user = await database_sync_to_async(make_viewer)()
    communicator = tail(user)
    assert (await communicator.connect())[0]
    for _ in range(consumers.MAX_UNACKED + 2):
        await database_sync_to_async(publish)(order(1))
        await asyncio.sleep(EventTailConsumer.update_interval * 2)
    for _ in range(consumers.MAX_UNACKED):
        await communicator.receive_from(timeout=3)
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.send_json_to({"action": "ack"})
    assert ROW.findall(await communicator.receive_from(timeout=3))
    await communicator.disconnect()


async def test_paused_tail_counts_new_events_instead_of_sending_them():
    user = await database_sync_to_async(make_viewer)()
    communicator = tail(user)
    assert (await communicator.connect())[0]
    await communicator.send_json_to({"action": "pause"})
    controls = await communicator.receive_from(timeout=3)
    await communicator.send_json_to({"action": "ack"})
    assert "data-paused" in controls
    await database_sync_to_async(publish)(order(1), order(2))
    message = await communicator.receive_from(timeout=3)
    await communicator.send_json_to({"action": "ack"})
    assert 'data-missed="2"' in message and not ROW.findall(message)
    await communicator.disconnect()


async def test_resume_replaces_the_table_with_the_newest_events():
    user = await database_sync_to_async(make_viewer)()
    communicator = tail(user)
    assert (await communicator.connect())[0]
    await communicator.send_json_to({"action": "pause"})
    await communicator.receive_from(timeout=3)
    await communicator.send_json_to({"action": "ack"})
    await database_sync_to_async(publish)(order(1))
    await communicator.receive_from(timeout=3)
    await communicator.send_json_to({"action": "ack"})
    await communicator.send_json_to({"action": "resume"})
    message = await communicator.receive_from(timeout=3)
    assert 'id="tail-rows"' in message and 'hx-swap-oob="true"' in message and len(ROW.findall(message)) == 1
    await communicator.disconnect()


async def test_reconnect_catches_up_from_its_cursor():
    # The page hands the socket the newest position it rendered; anything newer arrives on connect.
    user = await database_sync_to_async(make_viewer)()
    await database_sync_to_async(publish)(order(1))
    top = await database_sync_to_async(browsing.newest_position)()
    await database_sync_to_async(publish)(order(2), order(3))
    communicator = tail(user, f"after={top}")
    assert (await communicator.connect())[0]
    assert await receive_rows(communicator) == [top + 2, top + 1]
    await communicator.disconnect()


def dead_letter_page(user, query: str = "") -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(DeadLetterConsumer.as_asgi(), f"/ws/dead-letters/?{query}")
    communicator.scope["user"] = user
    return communicator


async def receive_frames(communicator: WebsocketCommunicator, count: int) -> list[str]:
    frames = []
    for _ in range(count):
        frames.append(await communicator.receive_from(timeout=3))
        await communicator.send_json_to({"action": "ack"})
    return frames


async def test_anonymous_dead_letter_socket_is_refused():
    communicator = WebsocketCommunicator(application, "/ws/dead-letters/", headers=[(b"origin", b"http://127.0.0.1")])
    connected, _ = await communicator.connect()
    assert not connected
    await communicator.disconnect()


async def test_dead_letter_page_starts_with_a_fresh_table():
    user = await database_sync_to_async(make_viewer)()
    [dead] = await database_sync_to_async(make_dead_letters)(1)
    communicator = dead_letter_page(user)
    assert (await communicator.connect())[0]
    summary, table = await receive_frames(communicator, 2)
    assert 'id="dlq-summary" hx-swap-oob="true"' in summary and 'data-dead-total="1"' in summary
    assert table.startswith('<tbody id="dl-rows" hx-swap-oob="true">') and f'id="dl-{dead.id}"' in table
    await communicator.disconnect()


async def test_new_dead_letter_is_added_without_replacing_the_table():
    user = await database_sync_to_async(make_viewer)()
    [first] = await database_sync_to_async(make_dead_letters)(1)
    communicator = dead_letter_page(user)
    assert (await communicator.connect())[0]
    await receive_frames(communicator, 2)
    [second] = await database_sync_to_async(make_dead_letters)(1, target=first.target)
    broadcast.deliveries_changed([second])  # what the worker does after it records a death
    summary, arrived = await receive_frames(communicator, 2)
    assert 'data-dead-total="2"' in summary
    assert arrived.startswith('<tbody id="dl-rows" hx-swap-oob="afterbegin">') and f'id="dl-{second.id}"' in arrived
    await communicator.disconnect()


async def test_redriven_dead_letter_leaves_the_page():
    user = await database_sync_to_async(make_viewer)()
    first, second = await database_sync_to_async(make_dead_letters)(2)
    communicator = dead_letter_page(user)
    assert (await communicator.connect())[0]
    await receive_frames(communicator, 2)
    await database_sync_to_async(redrive.redrive_dead_letters)([first.id])
    summary, gone = await receive_frames(communicator, 2)
    assert 'data-dead-total="1"' in summary
    assert gone.strip() == f'<tr id="dl-{first.id}" hx-swap-oob="delete"></tr>'
    await communicator.disconnect()


async def test_viewer_gets_rows_without_redrive_buttons():
    user = await database_sync_to_async(make_viewer)()
    await database_sync_to_async(make_dead_letters)(1)
    communicator = dead_letter_page(user)
    assert (await communicator.connect())[0]
    frames = await receive_frames(communicator, 2)
    assert all("data-redrive" not in frame and "Redrive" not in frame for frame in frames)
    await communicator.disconnect()


# Frames as the ASGI server hands them over, with the close code each deserves.
GARBAGE_FRAMES = {
    "binary": ({"bytes": b"\x00\xff"}, 1003),
    "not-json": ({"text": "ack please"}, 1007),
    "empty-text": ({"text": ""}, 1007),
    "5000-deep-json": ({"text": "[" * 5000 + "]" * 5000}, 1007),
}
LIVE_SOCKETS = {
    "event-tail": (EventTailConsumer, "/ws/events/"),
    "projections": (ProjectionsConsumer, "/ws/projections/"),
}


async def close_code(communicator: WebsocketCommunicator) -> int:
    """Skip the frames the page was sent until the socket closes; the code it closed with."""
    while True:
        message = await communicator.receive_output(timeout=3)
        if message["type"] == "websocket.close":
            return message["code"]


@pytest.mark.parametrize("socket", LIVE_SOCKETS)
@pytest.mark.parametrize("garbage", GARBAGE_FRAMES)
async def test_garbage_frame_closes_the_socket_with_its_code_and_one_warning(socket, garbage, caplog):
    consumer, path = LIVE_SOCKETS[socket]
    frame, expected_code = GARBAGE_FRAMES[garbage]
    communicator = WebsocketCommunicator(consumer.as_asgi(), path)
    communicator.scope["user"] = await database_sync_to_async(make_viewer)()
    assert (await communicator.connect())[0]
    with caplog.at_level("WARNING", logger="dashboard.ui.consumers"):
        await communicator.send_input({"type": "websocket.receive", **frame})
        assert await close_code(communicator) == expected_code
    [warning] = [record for record in caplog.records if record.name == "dashboard.ui.consumers"]
    assert warning.levelname == "WARNING" and warning.exc_info is None and "\n" not in warning.getMessage()
    await communicator.disconnect()


async def test_json_that_is_not_a_known_message_is_ignored_and_the_socket_stays_open():
    communicator = tail(await database_sync_to_async(make_viewer)())
    assert (await communicator.connect())[0]
    for content in ([1], "ack", {"action": 5}, {"action": "explode"}):
        await communicator.send_json_to(content)
    await database_sync_to_async(publish)(order(5))
    assert len(await receive_rows(communicator)) == 1
    await communicator.disconnect()
