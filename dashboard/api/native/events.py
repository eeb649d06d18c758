"""The native JSON API (thin: parse the request, call the domain, render the answer)."""

import asyncio
import functools
from collections.abc import Awaitable, Callable
from datetime import datetime

import orjson
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from dashboard.api.auth import authenticate
from dashboard.api.errors import ApiError, error_response, json_response
from dashboard.ingest import group_commit as ingest
from dashboard.ingest.publishing import EntryResult
from dashboard.lib.timestamps import parse_utc_timestamp
from dashboard.models import Event
from dashboard.observability.tracing import with_request_trace
from dashboard.patterns import InvalidEvent, InvalidPattern, PatternTooComplex, evaluate_pattern

MAX_PAGE = 500


def api_view(methods: tuple[str, ...], scope: str) -> Callable:
    """Wrap an async API view: method check, API-key authentication, errors rendered as JSON."""

    def decorate(view: Callable[..., Awaitable[HttpResponse]]) -> Callable:
        @csrf_exempt
        @functools.wraps(view)
        async def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            try:
                if request.method not in methods:
                    raise ApiError(405, "MethodNotAllowed", f"Use {' or '.join(methods)}.")
                _refuse_nul_in_url(request)
                request.api_key = await authenticate(request, scope)
                return await view(request, *args, **kwargs)
            except ApiError as error:
                return error_response(error)
            except ingest.StoreUnavailable as error:
                return error_response(ApiError(503, "ServiceUnavailable", error.message))

        return wrapper

    return decorate


def _refuse_nul_in_url(request: HttpRequest) -> None:
    """PostgreSQL refuses NUL in text, so a path or query value holding one would fail its query with a 500."""
    query = request.GET.lists()
    if "\x00" in request.path or any("\x00" in name or any("\x00" in v for v in values) for name, values in query):
        raise ApiError(400, "InvalidRequest", "The URL must not contain NUL characters.")


def read_json_body(request: HttpRequest) -> object:
    content_type = request.content_type or ""
    if content_type != "application/json":
        raise ApiError(415, "UnsupportedMediaType", "Send the body as application/json.")
    declared = int(request.META.get("CONTENT_LENGTH") or 0)
    if declared > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        raise _too_large()
    try:
        body = request.body
    except RequestDataTooBig:
        raise _too_large() from None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise ApiError(400, "InvalidJson", f"The body is not valid JSON: {error}") from None


def _too_large() -> ApiError:
    return ApiError(413, "PayloadTooLarge", f"The body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.")


def _entries_of(payload: object) -> list[object]:
    if isinstance(payload, list):
        entries = payload
    elif isinstance(payload, dict) and isinstance(payload.get("entries"), list):
        entries = payload["entries"]
    elif isinstance(payload, dict):
        entries = [payload]
    else:
        raise ApiError(400, "InvalidRequest", 'Send one event object, a list of events, or {"entries": [...]}.')
    limit = settings.EVENTHUB["MAX_BATCH_ENTRIES"]
    if not entries:
        raise ApiError(400, "InvalidRequest", "The batch is empty.")
    if len(entries) > limit:
        raise ApiError(400, "TooManyEntries", f"A batch holds at most {limit} entries; this one has {len(entries)}.")
    return entries


def render_result(result: EntryResult) -> dict:
    if result.ok:
        return {"event_id": result.event_id}
    return {"error_code": result.error_code, "error_message": result.error_message}


def by_method(*, get: Callable, post: Callable) -> Callable:
    """One URL, one API view per method; CSRF-exempt like each of them (API keys, not cookies, authenticate)."""

    @csrf_exempt
    async def view(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        handler = post if request.method == "POST" else get
        return await handler(request, *args, **kwargs)

    return view


@api_view(("POST",), scope="publish")
async def publish_events(request: HttpRequest) -> HttpResponse:
    entries = with_request_trace(_entries_of(read_json_body(request)), request.headers)
    results = await ingest.publish(entries)
    failed = sum(not r.ok for r in results)
    body = {"failed_entry_count": failed, "entries": [render_result(r) for r in results]}
    return json_response(body, status=400 if failed == len(results) else 200)


def render_event(event: Event) -> dict:
    return {
        "id": event.event_id,
        "position": event.position,
        "bus": event.bus,
        "source": event.source,
        "detail-type": event.detail_type,
        "detail": event.detail,
        "time": event.time.isoformat(),
        "received_at": event.received_at.isoformat(),
        "resources": event.resources,
        "account": event.account,
        "region": event.region,
        "trace-header": event.trace_header,
        "traceparent": event.traceparent,
        "tracestate": event.tracestate,
        "attributes": event.attributes,
        "correlation-id": event.correlation_id,
        "causation-id": event.causation_id,
        "aggregate_type": event.aggregate_type,
        "aggregate_id": event.aggregate_id,
        "version": event.version,
    }


def _timestamp(request: HttpRequest, name: str) -> datetime | None:
    value = request.GET.get(name)
    if not value:
        return None
    try:
        return parse_utc_timestamp(value)
    except ValueError as error:
        raise ApiError(400, "InvalidParameter", f"'{name}' {error}.") from None


def _int_param(request: HttpRequest, name: str, default: int | None, low: int, high: int) -> int | None:
    value = request.GET.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ApiError(400, "InvalidParameter", f"'{name}' must be a whole number.") from None
    if not low <= number <= high:
        raise ApiError(400, "InvalidParameter", f"'{name}' must be between {low} and {high}.")
    return number


@api_view(("GET",), scope="read")
async def list_events(request: HttpRequest) -> HttpResponse:
    """Newest first, filtered, with a cursor (the last position seen) instead of OFFSET."""
    events = Event.objects.filter(bus=request.GET.get("bus") or "default")
    if source := request.GET.get("source"):
        events = events.filter(source=source)
    if detail_type := request.GET.get("detail-type"):
        events = events.filter(detail_type=detail_type)
    if since := _timestamp(request, "since"):
        events = events.filter(time__gte=since)
    if until := _timestamp(request, "until"):
        events = events.filter(time__lt=until)
    cursor = _int_param(request, "cursor", None, 1, 2**63 - 1)
    if cursor is not None:
        events = events.filter(position__lt=cursor)
    limit = _int_param(request, "limit", 100, 1, MAX_PAGE)
    page = [event async for event in events.order_by("-position")[: limit + 1]]
    more = len(page) > limit
    page = page[:limit]
    return json_response(
        {"events": [render_event(e) for e in page], "next_cursor": str(page[-1].position) if more else None}
    )


@api_view(("GET",), scope="read")
async def get_event(request: HttpRequest, event_id: str) -> HttpResponse:
    event = await Event.objects.filter(event_id=event_id).afirst()
    if event is None:
        raise ApiError(404, "NotFound", f"No event with id {event_id!r}.")
    return json_response(render_event(event))


@api_view(("POST",), scope="read")
async def test_pattern(request: HttpRequest) -> HttpResponse:
    payload = read_json_body(request)
    if not isinstance(payload, dict) or "pattern" not in payload or not isinstance(payload.get("event"), dict):
        raise ApiError(400, "InvalidRequest", 'Send {"pattern": <pattern>, "event": <event object>}.')
    try:
        # CPU-bound, with a time budget: in a worker thread, so the event loop keeps serving other requests.
        explanation = await asyncio.to_thread(evaluate_pattern, payload["pattern"], payload["event"])
    except InvalidPattern as error:
        raise ApiError(400, "InvalidEventPattern", str(error)) from None
    except InvalidEvent as error:
        raise ApiError(400, "InvalidRequest", str(error)) from None
    except PatternTooComplex as error:
        raise ApiError(400, "PatternTooComplex", f"{error.reason}: try a smaller event or a simpler pattern.") from None
    return json_response({"result": explanation.matched, "explanation": explanation.to_dict()})


publish_or_list_events = by_method(get=list_events, post=publish_events)
