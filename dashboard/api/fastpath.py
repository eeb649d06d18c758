"""The publish endpoints served without Django's middleware chain.

Under ASGI every sync-style middleware costs a thread hop per request (about 15 hops for our stack,
~4 ms), which capped publishing at a few hundred requests/s. The API authenticates with keys, needs no
session, CSRF or messages, so `POST /api/v1/events` and the EventBridge endpoint skip the chain and go
straight to the same views; everything else goes through the full stack. These requests also skip the
per-request ThreadSensitiveContext (a new thread and connection per request): they store events on the
ingest pool (see ingest.py).
"""

from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.exception import convert_exception_to_response

from dashboard.csp import POLICY

from .ingest import use_ingest_pool


class MiddlewareFreeHandler(ASGIHandler):
    """Django's own ASGI handler (URL resolution, request parsing, signals) with an empty middleware list."""

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(self._get_response_async)

    async def __call__(self, scope, receive, send) -> None:
        use_ingest_pool()
        await self.handle(scope, receive, send)

    async def send_response(self, response, send) -> None:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Content-Security-Policy", POLICY)
        await super().send_response(response, send)


def is_publish_request(scope: dict) -> bool:
    if scope["type"] != "http" or scope["method"] != "POST":
        return False
    if scope["path"] == "/api/v1/events":
        return True
    return scope["path"] == "/" and any(name == b"x-amz-target" for name, _ in scope["headers"])


class PublishFastPath:
    """ASGI router: publish requests to the middleware-free handler, the rest to `app`."""

    def __init__(self, app, fast_app) -> None:
        self.app = app
        self.fast_app = fast_app

    async def __call__(self, scope, receive, send) -> None:
        target = self.fast_app if is_publish_request(scope) else self.app
        await target(scope, receive, send)
