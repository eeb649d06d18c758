"""The views marked for it (framework.fast_path) served straight from ASGI, without Django's request cycle.

Publishing is the hot path. Django's ASGI handler costs per request the middleware chain (a thread hop
per sync-style middleware), the request_started and request_finished signals (a thread hop each),
two tasks and URL resolution; together more than storing the events. The API authenticates with keys
and needs no session, CSRF or messages, so a POST whose path the URLconf resolves to a marked view
(publish, stream append, CloudEvents, the EventBridge endpoint) goes from here to that view; everything
else goes through the full stack. The resolver and the view are the ones the full stack uses: only the
request cycle around them differs. Their database work runs on the ingest pool (see ingest.py), which
closes its own connections. What the full stack enforces for every request still holds here: the host
must be in ALLOWED_HOSTS, and SecurityMiddleware redirects plain HTTP when HTTPS is required and adds its
headers (called directly: it does no I/O).
"""

import functools
import io
import logging
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.core.handlers.exception import response_for_exception
from django.http import HttpRequest, HttpResponse
from django.middleware.security import SecurityMiddleware
from django.urls import Resolver404, resolve

from dashboard.ingest.group_commit import use_ingest_pool
from dashboard.ui.csp import POLICY

from .errors import ApiError, error_response
from .framework import served_by

log = logging.getLogger(__name__)


# Paths resolved at most this many at a time: stream appends put an id in the path, so paths are unbounded.
RESOLVED_PATHS = 4096


@functools.lru_cache(maxsize=RESOLVED_PATHS)
def _resolve(path: str) -> tuple[Callable, tuple, dict] | None:
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match.func, match.args, match.kwargs


def fast_view(scope: dict) -> Callable[..., HttpResponse] | None:
    """The view to serve this request on the fast path, with the URL's arguments bound; None for the full
    stack. Only POSTs (publishing) whose resolved view, after a dispatcher's choice, is marked fast_path."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    resolved = _resolve(scope["path"].removeprefix(scope.get("root_path", "")) or "/")
    if resolved is None:
        return None
    view, args, kwargs = resolved
    view = served_by(view, "POST", _HeaderNames(scope["headers"]))
    if not getattr(view, "fast_path", False):
        return None
    return functools.partial(view, *args, **kwargs)


class _HeaderNames:
    """The header names of a scope (ASGI sends them in lower case), searched only if a dispatcher asks."""

    __slots__ = ("_headers",)

    def __init__(self, headers: list[tuple[bytes, bytes]]) -> None:
        self._headers = headers

    def __contains__(self, name: object) -> bool:
        wanted = str(name).encode("latin-1")
        return any(header == wanted for header, _ in self._headers)


class PublishHandler:
    """Serves a request PublishFastPath chose for the fast path: read the body, call the view it resolved
    (`fast_view`), send its response."""

    def __init__(self) -> None:
        self._security = SecurityMiddleware(_respond)  # its request and response hooks only: no I/O

    async def __call__(self, scope, receive, send, view: Callable[..., HttpResponse]) -> None:
        use_ingest_pool()
        body = await _read_body(receive)
        if body is None:  # the client hung up before the body was complete
            return
        request = ASGIRequest(scope, io.BytesIO(body))
        # The size read, not the size declared: a body over the limit is refused by the view in its API's shape.
        request.META["CONTENT_LENGTH"] = str(len(body))
        response = self._refusal(request) or await _respond(view, request)
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


async def _respond(view: Callable[..., HttpResponse], request: ASGIRequest) -> HttpResponse:
    try:
        return await view(request)
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
    """ASGI router: requests for a marked view to `fast_app` (a PublishHandler), the rest to `app`."""

    def __init__(self, app, fast_app) -> None:
        self.app = app
        self.fast_app = fast_app

    async def __call__(self, scope, receive, send) -> None:
        if view := fast_view(scope):
            await self.fast_app(scope, receive, send, view)
        else:
            await self.app(scope, receive, send)
