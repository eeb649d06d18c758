"""WebSocket URL routes; the consumers themselves live in consumers.py."""

from django.urls import path

from dashboard.ui import consumers
from dashboard.ui.streams import consumers as consumers_streams

websocket_urlpatterns = [
    path("ws/events/", consumers.EventTailConsumer.as_asgi(), name="ws-events"),
    path("ws/dead-letters/", consumers.DeadLetterConsumer.as_asgi(), name="ws-dead-letters"),
    path("ws/stream/", consumers_streams.StreamTimelineConsumer.as_asgi(), name="ws-stream"),
    path("ws/projections/", consumers_streams.ProjectionsConsumer.as_asgi(), name="ws-projections"),
    path("ws/replays/", consumers_streams.ReplaysConsumer.as_asgi(), name="ws-replays"),
    path("ws/schemas/", consumers.SchemasConsumer.as_asgi(), name="ws-schemas"),
]
