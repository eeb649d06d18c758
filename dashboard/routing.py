"""WebSocket URL routes; the consumers themselves live in consumers.py."""

websocket_urlpatterns: list = []
