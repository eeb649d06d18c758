"""The publish endpoints served straight from ASGI, without Django's request cycle around them.

Publishing is the hot path. Django's ASGI handler costs per request the middleware chain (a thread hop
per sync-style middleware), the request_started and request_finished signals (a thread hop each),
two tasks and URL resolution; together more than storing the events. The API authenticates with keys
and needs no session, CSRF or messages, so `POST /api/v1/events`, stream appends and the EventBridge
endpoint go from here to the same views the full stack uses; everything else goes through the full stack. Their
database work runs on the ingest pool (ingest/group_commit.py), which closes its own connections. What the full stack
enforces for every request still holds here: the host must be in ALLOWED_HOSTS, and SecurityMiddleware
redirects plain HTTP when HTTPS is required and adds its headers (called directly: it does no I/O).
"""

import io
import logging
import re

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.core.handlers.exception import response_for_exception
from django.http import HttpRequest, HttpResponse
from django.middleware.security import SecurityMiddleware

from dashboard.api.aws import endpoint as aws
from dashboard.api.native import cloudevents, streams
from dashboard.api.native import events as native
from dashboard.ingest.group_commit import use_ingest_pool
from dashboard.ui.csp import POLICY

from .errors import ApiError, error_response

log = logging.getLogger(__name__)


# As the URLconf's `streams/<str:aggregate_type>/<str:aggregate_id>/events` (str: anything but "/").
STREAM_APPEND = re.compile(r"/api/v1/streams/(?P<aggregate_type>[^/]+)/(?P<aggregate_id>[^/]+)/events")


def is_publish_request(scope: dict) -> bool:
    if scope["type"] != "http" or scope["method"] != "POST":
        return False
    if scope["path"] in ("/api/v1/events", "/api/v1/cloudevents") or STREAM_APPEND.fullmatch(scope["path"]):
        return True
    return scope["path"] == "/" and any(name == b"x-amz-target" for name, _ in scope["headers"])


class PublishHandler:
    """ASGI app for publish requests: read the body, call the view, send its response."""

    def __init__(self) -> None:
        self._security = SecurityMiddleware(_respond)

    async def __call__(self, scope, receive, send) -> None:
        use_ingest_pool()
        body = await _read_body(receive)
        if body is None:  # the client hung up before the body was complete
            return
        request = ASGIRequest(scope, io.BytesIO(body))
        # The size read, not the size declared: a body over the limit is refused by the view in its API's shape.
        request.META["CONTENT_LENGTH"] = str(len(body))
        response = self._refusal(request) or await _respond(request)
        await _send(self._security.process_response(request, response), send)

    def _refusal(self, request: HttpRequest) -> HttpResponse | None:
        """The full stack's answer when it would not call the view: a host outside ALLOWED_HOSTS is a 400
        (logged as Django logs it), and plain HTTP is redirected when SECURE_SSL_REDIRECT is on."""
        try:
            request.get_host()
            return self._security.process_request(request)
        except DisallowedHost as error:
            return response_for_exception(request, error)


async def _read_body(receive) -> bytes | None:
    """The whole body, or None on disconnect; reading stops one byte past the size limit."""
    chunks, size, limit = [], 0, settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        if size <= limit:
            chunks.append(chunk)
            size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _respond(request: ASGIRequest) -> HttpResponse:
    try:
        if request.path == "/api/v1/events":
            return await native.publish_events(request)
        if request.path == "/api/v1/cloudevents":
            return await cloudevents.publish_cloudevents(request)
        if stream := STREAM_APPEND.fullmatch(request.path):
            return await streams.append_events(request, **stream.groupdict())
        return await aws.handle(request)
    except Exception:  # noqa: BLE001  the views answer every expected failure; this is a bug, not input
        log.exception("publish request failed")
        return error_response(ApiError(500, "InternalError", "The request failed; nothing was acknowledged."))


async def _send(response: HttpResponse, send) -> None:
    response.headers.setdefault("Content-Security-Policy", POLICY)
    response.headers["Content-Length"] = str(len(response.content))
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in response.items()]
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": response.content})


def skip_twisted_form_parsing() -> None:
    """Stop Twisted parsing POST bodies as HTML forms: Daphne never reads the result, and the parse
    (the Content-Type through the email package, on every POST) took a sixth of a publish request."""
    from daphne.http_protocol import WebRequest

    if getattr(WebRequest, "_eventhub_form_parsing_skipped", False):
        return
    initialise = WebRequest.__init__

    def __init__(self, *args, **kwargs) -> None:
        initialise(self, *args, **kwargs)
        self._parsePOSTFormSubmission = False

    WebRequest.__init__ = __init__
    WebRequest._eventhub_form_parsing_skipped = True


class PublishFastPath:
    """ASGI router: publish requests to `fast_app`, the rest to `app`."""

    def __init__(self, app, fast_app) -> None:
        self.app = app
        self.fast_app = fast_app

    async def __call__(self, scope, receive, send) -> None:
        target = self.fast_app if is_publish_request(scope) else self.app
        await target(scope, receive, send)
