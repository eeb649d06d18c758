"""The native JSON API (thin: parse the request, call the domain, render the answer)."""

import asyncio

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from dashboard.api.errors import ApiError, json_response
from dashboard.api.framework import MAX_PAGE, api_view, by_method, fast_path, int_param, read_json_body, timestamp_param
from dashboard.ingest import group_commit as ingest
from dashboard.ingest.publishing import EntryResult
from dashboard.models import Event
from dashboard.observability.tracing import with_request_trace
from dashboard.patterns import InvalidEvent, InvalidPattern, PatternTooComplex, evaluate_pattern


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


@fast_path
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


@api_view(("GET",), scope="read")
async def list_events(request: HttpRequest) -> HttpResponse:
    """Newest first, filtered, with a cursor (the last position seen) instead of OFFSET."""
    events = Event.objects.filter(bus=request.GET.get("bus") or "default")
    if source := request.GET.get("source"):
        events = events.filter(source=source)
    if detail_type := request.GET.get("detail-type"):
        events = events.filter(detail_type=detail_type)
    if since := timestamp_param(request, "since"):
        events = events.filter(time__gte=since)
    if until := timestamp_param(request, "until"):
        events = events.filter(time__lt=until)
    cursor = int_param(request, "cursor", None, 1, 2**63 - 1)
    if cursor is not None:
        events = events.filter(position__lt=cursor)
    limit = int_param(request, "limit", 100, 1, MAX_PAGE)
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
