"""The live socket of the Schemas pages: a hint after a registry change or a violation re-sends the table."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from dashboard.ingest.publishing import publish_entries
from dashboard.models import EventSchema
from dashboard.schemas.registry import Kind, configure, register_version
from dashboard.ui.consumers import SchemasConsumer
from eventhub.asgi import application
from tests.dashboard_support import make_viewer

pytestmark = pytest.mark.django_db(transaction=True)

KIND = Kind("default", "test.live", "ParcelWeighed")
SCHEMA = {"type": "object", "properties": {"weight": {"type": "number"}}}


def connect(path: str, user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(SchemasConsumer.as_asgi(), path)
    communicator.scope["user"] = user
    return communicator


async def next_frame(communicator: WebsocketCommunicator) -> str:
    message = await communicator.receive_from(timeout=3)
    await communicator.send_json_to({"action": "ack"})
    return message


def warned_schema() -> int:
    configure(KIND, validation="warn")
    register_version(KIND, SCHEMA)
    return EventSchema.objects.get(**KIND.lookup()).pk


@pytest.mark.parametrize("path", ["/ws/schemas/", "/ws/schemas/?schema=1"])
async def test_anonymous_sockets_are_refused(path):
    communicator = WebsocketCommunicator(application, path, headers=[(b"origin", b"http://127.0.0.1")])
    assert not (await communicator.connect())[0]
    await communicator.disconnect()


@pytest.mark.parametrize("schema", ["999999", "x", "9" * 40])
async def test_a_socket_for_no_schema_is_refused(schema):
    user = await database_sync_to_async(make_viewer)()
    communicator = connect(f"/ws/schemas/?schema={schema}", user)
    assert not (await communicator.connect())[0]
    await communicator.disconnect()


async def test_the_list_socket_shows_a_schema_registered_after_the_page():
    user = await database_sync_to_async(make_viewer)()
    communicator = connect("/ws/schemas/", user)
    assert (await communicator.connect())[0]
    assert "No schemas yet." in await next_frame(communicator)
    await database_sync_to_async(register_version)(KIND, SCHEMA)
    table = await next_frame(communicator)
    assert 'id="schema-rows" hx-swap-oob="true"' in table
    assert "ParcelWeighed" in table
    await communicator.disconnect()


async def test_the_schema_socket_shows_a_violation_recorded_after_the_page():
    user = await database_sync_to_async(make_viewer)()
    schema_id = await database_sync_to_async(warned_schema)()
    communicator = connect(f"/ws/schemas/?schema={schema_id}", user)
    assert (await communicator.connect())[0]
    assert "No violations recorded" in await next_frame(communicator)
    [result] = await database_sync_to_async(publish_entries)(
        [{"source": KIND.source, "detail-type": KIND.detail_type, "detail": {"weight": "<b>heavy</b>"}}]
    )
    violations = await next_frame(communicator)
    assert 'id="violations" hx-swap-oob="true"' in violations
    assert result.event_id in violations and "/weight" in violations
    assert "<b>heavy" not in violations
    await communicator.disconnect()
