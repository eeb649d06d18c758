"""POST /api/v1/cloudevents: CloudEvents 1.0 over the HTTP protocol binding, onto the EventBridge envelope.

Three modes, told apart by the request: structured (`application/cloudevents+json`, one event as JSON),
batched (`application/cloudevents-batch+json`, a JSON array of them) and binary (attributes in `ce-*`
headers, the data as the body). The CloudEvents SDK parses and validates each event; the mapping is
`source` → source, `type` → detail-type, `time` → time, `data` (a JSON object) → detail, the W3C trace
extension (`traceparent`, `tracestate`) → the event's trace context, and every other attribute (`subject`,
`dataschema`, `datacontenttype`, extensions, and the producer's `id`) is kept in the event's attributes.

CloudEvents ids are unique per source only, so the stored event id is derived from both (`ce_` and a
digest): a producer retrying an event gets the same id back and nothing is stored twice, while two sources
that happen to use the same id never collapse into one event. Then the native API's rules apply: its
limits, per-entry results in request order, and group commit on the fast path.
"""

import hashlib
from collections.abc import Callable
from dataclasses import replace

import orjson
from cloudevents.core.bindings.http import HTTPMessage, from_binary
from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse

from dashboard.api.errors import ApiError, json_response
from dashboard.api.framework import api_view, fast_path
from dashboard.ingest import group_commit as ingest
from dashboard.ingest.publishing import EntryResult, EventDraft, InvalidEntry, check_nesting, parse_entry
from dashboard.observability import metrics

from .events import render_result

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
REQUIRED = ("specversion", "id", "source", "type")
# Attributes that have a place of their own in the envelope; the rest are kept in `attributes`.
_MAPPED = {"specversion", "source", "type", "time", "traceparent", "tracestate"}
_FORMAT = JSONFormat()


def event_id_for(source: str, ce_id: str) -> str:
    """The stored id of CloudEvent (source, id): stable across retries, distinct across sources."""
    return "ce_" + hashlib.sha256(f"{source}\x00{ce_id}".encode()).hexdigest()[:40]


def _refuse_missing(attributes: dict) -> None:
    # The SDK would invent a missing id (and time): an event without one cannot be retried idempotently.
    missing = [name for name in REQUIRED if not attributes.get(name)]
    if missing:
        raise InvalidEntry(f"required CloudEvents attributes missing: {', '.join(missing)}")
    if attributes["specversion"] != "1.0":
        raise InvalidEntry(f"specversion {attributes['specversion']!r} is not supported; send 1.0")


def _draft(event: CloudEvent, bus: str) -> EventDraft:
    """The envelope of a parsed CloudEvent, validated with the native API's own rules and limits."""
    attributes = event.get_attributes()
    data = event.get_data()
    if data is not None and not isinstance(data, dict):
        raise InvalidEntry("CloudEvents data must be a JSON object (it becomes the detail)", code="MalformedDetail")
    kept = {name: value for name, value in attributes.items() if name not in _MAPPED}
    kept["id"] = event.get_id()
    time = event.get_time()
    entry = {
        "source": event.get_source(),
        "detail-type": event.get_type(),
        "id": event_id_for(event.get_source(), event.get_id()),
        "detail": data or {},
        "bus": bus,
        "time": time.isoformat() if time else None,
        "attributes": orjson.loads(orjson.dumps(kept, default=str)),  # as JSON keeps them (binary values: text)
        "traceparent": attributes.get("traceparent"),
        "tracestate": attributes.get("tracestate"),
    }
    draft = parse_entry(entry, default_bus=bus)  # size and nesting limits cover the kept attributes too
    return replace(draft, attributes=entry["attributes"])


def _structured(value: object, bus: str) -> EventDraft:
    if not isinstance(value, dict):
        raise InvalidEntry("each CloudEvent must be a JSON object")
    check_nesting(value, settings.EVENTHUB["MAX_JSON_DEPTH"])
    _refuse_missing(value)
    try:
        event = _FORMAT.read(CloudEvent, orjson.dumps(value))
    except (BaseCloudEventException, ValueError, TypeError, OverflowError) as error:
        raise InvalidEntry(f"not a valid CloudEvent: {error}") from None
    return _draft(event, bus)


def _binary(request: HttpRequest, body: bytes, bus: str) -> EventDraft:
    headers = {name.lower(): value for name, value in request.headers.items()}
    attributes = {name[3:]: value for name, value in headers.items() if name.startswith("ce-")}
    _refuse_missing(attributes)
    content_type = headers.get("content-type", "application/json")
    if body and not JSONFormat.JSON_CONTENT_TYPE_PATTERN.match(content_type):
        raise InvalidEntry("binary-mode data must be JSON (a JSON Content-Type)", code="MalformedDetail")
    if body:
        try:
            check_nesting(orjson.loads(body), settings.EVENTHUB["MAX_JSON_DEPTH"])
        except orjson.JSONDecodeError as error:
            raise InvalidEntry(f"the body is not valid JSON: {error}", code="MalformedDetail") from None
    try:
        event = from_binary(HTTPMessage(headers=headers, body=body), _FORMAT, CloudEvent)
    except (BaseCloudEventException, ValueError, TypeError, OverflowError) as error:
        raise InvalidEntry(f"not a valid CloudEvent: {error}") from None
    return _draft(event, bus)


def _body(request: HttpRequest) -> bytes:
    too_large = ApiError(
        413, "PayloadTooLarge", f"The body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
    )
    if int(request.META.get("CONTENT_LENGTH") or 0) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        raise too_large
    try:
        return request.body
    except RequestDataTooBig:
        raise too_large from None


def _batch(body: bytes) -> list[object]:
    try:
        events = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise ApiError(400, "InvalidJson", f"The body is not valid JSON: {error}") from None
    if not isinstance(events, list) or not events:
        raise ApiError(400, "InvalidRequest", "A batch is a non-empty JSON array of CloudEvents.")
    limit = settings.EVENTHUB["MAX_BATCH_ENTRIES"]
    if len(events) > limit:
        raise ApiError(400, "TooManyEntries", f"A batch holds at most {limit} entries; this one has {len(events)}.")
    return events


def _prepared(request: HttpRequest, body: bytes, bus: str) -> list[EventDraft | EntryResult]:
    """One draft or one error per CloudEvent of the request, in order."""
    content_type = request.content_type or ""
    if content_type == BATCH:
        parsers: list[Callable[[], EventDraft]] = [
            lambda value=value: _structured(value, bus) for value in _batch(body)
        ]
    elif content_type == STRUCTURED:
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise ApiError(400, "InvalidJson", f"The body is not valid JSON: {error}") from None
        parsers = [lambda: _structured(value, bus)]
    elif any(name.lower().startswith("ce-") for name in request.headers):
        parsers = [lambda: _binary(request, body, bus)]
    else:
        raise ApiError(
            415, "UnsupportedMediaType", f"Send {STRUCTURED}, {BATCH}, or binary mode (ce-* headers with JSON data)."
        )
    prepared: list[EventDraft | EntryResult] = []
    for parse in parsers:
        try:
            prepared.append(parse())
        except InvalidEntry as error:
            metrics.record_refused([{"bus": bus}], error.code)
            prepared.append(EntryResult(error_code=error.code, error_message=str(error)))
    return prepared


@fast_path
@api_view(("POST",), scope="publish")
async def publish_cloudevents(request: HttpRequest) -> HttpResponse:
    bus = request.GET.get("bus") or "default"
    prepared = _prepared(request, _body(request), bus)
    valid = [entry for entry in prepared if isinstance(entry, EventDraft)]
    stored = iter(await ingest.publish(valid) if valid else ())
    results = [entry if isinstance(entry, EntryResult) else next(stored) for entry in prepared]
    failed = sum(not r.ok for r in results)
    body = {"failed_entry_count": failed, "entries": [render_result(r) for r in results]}
    return json_response(body, status=400 if failed == len(results) else 200)
