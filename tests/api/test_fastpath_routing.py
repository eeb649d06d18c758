"""The publish fast path is chosen from the URLconf: a POST whose path resolves to a view marked
`fast_path` (after a dispatcher such as `by_method` or `by_header` picks the view for the request) is
served from ASGI; everything else goes through Django's full stack."""

import asyncio
import json

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from dashboard.api.aws import endpoint as aws
from dashboard.api.fastpath import PublishFastPath, PublishHandler, fast_view
from dashboard.api.framework import served_by
from dashboard.api.native import cloudevents, streams
from dashboard.api.native import events as native
from dashboard.models import Event

AWS_TARGET = [(b"x-amz-target", b"AWSEvents.PutEvents")]


def scope(path: str, method: str = "POST", headers: list | None = None) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }


def served_view(path: str, method: str = "POST", headers: list | None = None):
    view = fast_view(scope(path, method, headers))
    return None if view is None else view.func


@pytest.mark.parametrize(
    ("path", "headers", "view"),
    [
        ("/api/v1/events", None, native.publish_events),
        ("/api/v1/cloudevents", None, cloudevents.publish_cloudevents),
        ("/api/v1/streams/Order/o-1/events", None, streams.append_events),
        ("/", AWS_TARGET, aws.handle),
    ],
)
def test_a_post_resolving_to_a_marked_view_takes_the_fast_path(path, headers, view):
    assert served_view(path, headers=headers) is view


def test_the_fast_path_calls_the_view_with_the_urls_arguments():
    view = fast_view(scope("/api/v1/streams/Order/o-1/events"))
    assert view.keywords == {"aggregate_type": "Order", "aggregate_id": "o-1"}


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/api/v1/events", None),  # the same URL, but by_method picks the unmarked list view
        ("POST", "/", None),  # the overview page: by_header picks it without X-Amz-Target
        ("GET", "/", AWS_TARGET),
        ("POST", "/api/v1/events/some-id", None),
        ("POST", "/api/v1/patterns/test", None),
        ("POST", "/api/v1/streams/Order/o-1", None),
        ("POST", "/api/v1/nowhere", None),
    ],
)
def test_other_requests_go_through_django(method, path, headers):
    assert served_view(path, method, headers) is None


def test_websocket_connections_go_through_channels():
    assert fast_view(scope("/api/v1/events") | {"type": "websocket"}) is None


def _views(resolver: URLResolver):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _views(pattern)
        elif isinstance(pattern, URLPattern):
            yield pattern.callback


def test_the_marked_views_are_exactly_the_publish_endpoints():
    served = {
        served_by(view, "POST", headers) for view in _views(get_resolver()) for headers in (set(), {"x-amz-target"})
    }
    marked = {view for view in served if getattr(view, "fast_path", False)}
    assert marked == {native.publish_events, cloudevents.publish_cloudevents, streams.append_events, aws.handle}


async def _call(app, request_scope: dict, body: bytes) -> tuple[int, bytes]:
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict] = []

    async def receive() -> dict:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(request_scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


async def _django_is_not_called(scope, receive, send) -> None:
    raise AssertionError("the request went to Django's full stack")


@pytest.mark.django_db(transaction=True)
def test_a_publish_through_the_asgi_router_is_stored_by_the_fast_path(bearer):
    """Runs in-process through PublishFastPath and PublishHandler (the production path, with the ingest pool
    and group commit), not Django's test client."""
    headers = [(b"authorization", bearer.encode()), (b"content-type", b"application/json")]
    body = json.dumps({"source": "layout", "detail-type": "T", "detail": {}}).encode()

    router = PublishFastPath(_django_is_not_called, PublishHandler())
    status, answer = asyncio.run(_call(router, scope("/api/v1/events", headers=headers), body))

    assert status == 200
    event_id = json.loads(answer)["entries"][0]["event_id"]
    assert Event.objects.filter(event_id=event_id, source="layout").exists()
