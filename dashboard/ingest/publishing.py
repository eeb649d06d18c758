"""Accepting events: the one way into the store, used by both APIs, the demo and the tests.

An entry is validated on its own (a bad entry never fails its neighbours), then every valid entry of
a request is stored with its planned deliveries (the outbox) in one transaction. Only after commit
is the work handed to Redis; if that hand-off is lost, the sweeper finds the deliveries in the database.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime

import orjson
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from dashboard.delivery.planning import plan_deliveries
from dashboard.ingest.bulk_insert import insert_rows
from dashboard.ingest.handover import hand_over
from dashboard.lib.ids import new_event_id
from dashboard.lib.timestamps import parse_utc_timestamp
from dashboard.models import Delivery, Event
from dashboard.observability.tracing import trace_context
from dashboard.patterns import PatternTooComplex
from dashboard.schemas import validation as schema_validation
from dashboard.ui import broadcast

log = logging.getLogger(__name__)

# The longest value each text member of an entry may hold (characters); the columns are this wide.
TEXT_LIMITS = {
    "source": 256,
    "detail-type": 256,
    "bus": 64,
    "id": 64,
    "trace-header": 500,
    "correlation-id": 128,
    "causation-id": 128,
}


@dataclass(frozen=True)
class EventDraft:
    """A validated entry, ready to store."""

    source: str
    detail_type: str
    detail: dict
    bus: str = "default"
    event_id: str | None = None
    time: datetime | None = None
    resources: list[str] = field(default_factory=list)
    trace_header: str = ""
    correlation_id: str = ""
    causation_id: str = ""
    aggregate_type: str | None = None
    aggregate_id: str | None = None
    version: int | None = None
    traceparent: str = ""
    tracestate: str = ""
    attributes: dict = field(default_factory=dict)


@dataclass(frozen=True)
class EntryResult:
    """The per-entry answer, in request order: an event id, or an error code and message."""

    event_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_code is None


class InvalidEntry(ValueError):
    def __init__(self, message: str, code: str = "InvalidArgument") -> None:
        super().__init__(message)
        self.code = code


def check_nesting(value: object, limit: int) -> None:
    """Refuse a parsed JSON value that nests deeper than `limit` levels or holds the NUL character.

    It walks level by level, without recursion (the input is untrusted), and stops at the first level past
    the limit, so it is safe before anything serialises the value: orjson gives up at 255 levels with a
    TypeError, which must stay an entry error. NUL is refused in any key or string because PostgreSQL cannot
    store it in text or jsonb, so accepting it would turn a bad entry into a failed batch.
    """
    level = [value] if isinstance(value, dict | list) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            raise InvalidEntry(f"entry nests deeper than {limit} levels")
        children: list[object] = []
        for node in level:
            if isinstance(node, dict):
                for key in node:
                    _refuse_nul(key)
                children.extend(node.values())
            else:
                children.extend(node)
        level = []
        for child in children:
            if isinstance(child, str):
                _refuse_nul(child)
            elif isinstance(child, dict | list):
                level.append(child)


def _refuse_nul(text: str) -> None:
    if "\x00" in text:
        raise InvalidEntry("strings and keys may not contain the NUL character (\\u0000)")


def _text(entry: dict, key: str, *, required: bool = False) -> str:
    value, limit = entry.get(key), TEXT_LIMITS[key]
    if value is None or value == "":
        if required:
            raise InvalidEntry(f'"{key}" is required and must be a non-empty string')
        return ""
    if not isinstance(value, str):
        raise InvalidEntry(f'"{key}" must be a string')
    if len(value) > limit:
        raise InvalidEntry(f'"{key}" is longer than {limit} characters')
    return value


def _time(entry: dict) -> datetime | None:
    value = entry.get("time")
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidEntry('"time" must be an ISO 8601 timestamp string')
    try:
        return parse_utc_timestamp(value)
    except ValueError as error:
        raise InvalidEntry(f'"time" {error}') from None


def parse_entry(entry: object, *, default_bus: str = "default") -> EventDraft:
    """Validate one native-API entry (EventBridge envelope keys) into a draft, or raise InvalidEntry."""
    limits = settings.EVENTHUB
    if not isinstance(entry, dict):
        raise InvalidEntry("each entry must be a JSON object")
    check_nesting(entry, limits["MAX_JSON_DEPTH"])
    size = len(orjson.dumps(entry))
    if size > limits["MAX_ENTRY_BYTES"]:
        raise InvalidEntry(
            f"entry is {size} bytes; the limit is {limits['MAX_ENTRY_BYTES']} bytes", code="EntryTooLarge"
        )
    detail = entry.get("detail", {})
    if not isinstance(detail, dict):
        raise InvalidEntry('"detail" must be a JSON object', code="MalformedDetail")
    resources = entry.get("resources", [])
    if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
        raise InvalidEntry('"resources" must be a list of strings')
    traceparent, tracestate = trace_context(entry.get("traceparent"), entry.get("tracestate"))
    return EventDraft(
        source=_text(entry, "source", required=True),
        detail_type=_text(entry, "detail-type", required=True),
        detail=detail,
        bus=_text(entry, "bus") or default_bus,
        event_id=_text(entry, "id") or None,
        time=_time(entry),
        resources=resources,
        trace_header=_text(entry, "trace-header"),
        correlation_id=_text(entry, "correlation-id"),
        causation_id=_text(entry, "causation-id"),
        traceparent=traceparent,
        tracestate=tracestate,
    )


def publish_entries(entries: list[object], *, default_bus: str = "default") -> list[EntryResult]:
    """Validate and store a batch; one result per entry, in order. Valid entries commit together."""
    return publish_batches([entries], default_bus=default_bus)[0]


def publish_batches(batches: list[list[object]], *, default_bus: str = "default") -> list[list[EntryResult]]:
    """Validate several requests' batches and store every valid entry in one transaction (group commit).

    Each batch gets its own results, as if published alone; one commit for all of them is what lets a
    busy server take many small requests for the price of one. An entry is a native-API object, or a draft
    an API adapter already validated with `parse_entry` (CloudEvents).
    """
    results: list[list[EntryResult | None]] = []
    drafts: list[EventDraft] = []
    schemas = schema_validation.schema_check()  # None unless some schema validates events
    for entries in batches:
        answers: list[EntryResult | None] = []
        for entry in entries:
            try:
                draft = entry if isinstance(entry, EventDraft) else parse_entry(entry, default_bus=default_bus)
                drafts.append(schemas.check(draft) if schemas else draft)
                answers.append(None)
            except (InvalidEntry, schema_validation.EntryBreaksSchema) as error:
                answers.append(EntryResult(error_code=error.code, error_message=str(error)))
        results.append(answers)
    try:
        stored = [EntryResult(event_id=event_id) for event_id in store_events(drafts)] if drafts else []
    except PatternTooComplex:
        stored = [_store_alone(draft) for draft in drafts]
    if schemas:
        schemas.record()
    outcomes = iter(stored)
    return [[answer or next(outcomes) for answer in answers] for answers in results]


def _store_alone(draft: EventDraft) -> EntryResult:
    """Rare path: some event of the group could not be routed within the matching budget (see
    dashboard.patterns.budget). Each draft is stored on its own so that only that event is refused."""
    try:
        return EntryResult(event_id=store_events([draft])[0])
    except PatternTooComplex as error:
        return EntryResult(error_code="PatternTooComplex", error_message=f"The event is too complex to route: {error}")


def store_events(drafts: list[EventDraft]) -> list[str]:
    """Store drafts and their deliveries in one transaction; returns each draft's event id.

    A draft whose id is already stored (a producer retrying) yields that id and stores nothing. A
    concurrent retry of the same id can win the race; then the unique index refuses ours and one
    more pass finds the stored row.
    """
    for attempt in range(2):
        try:
            return _store_once(drafts)
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def _store_once(drafts: list[EventDraft]) -> list[str]:
    ids = [draft.event_id or new_event_id() for draft in drafts]
    supplied = [draft.event_id for draft in drafts if draft.event_id]
    with transaction.atomic():
        stored = Event.objects.filter(event_id__in=supplied).values_list("event_id", flat=True) if supplied else ()
        already = set(stored)
        fresh: dict[str, EventDraft] = {}
        for event_id, draft in zip(ids, drafts, strict=True):
            if event_id not in already and event_id not in fresh:
                fresh[event_id] = draft
        _insert(list(fresh.items()))
    return ids


def insert_events(drafts: list[EventDraft]) -> list[Event]:
    """Store drafts exactly as given, with their deliveries, inside the caller's transaction.

    Unlike `store_events` nothing is de-duplicated: a stored id or a taken stream version raises
    IntegrityError. Event-sourcing appends use it after their own checks, so stream events route and
    deliver like any other event.
    """
    with transaction.atomic(savepoint=False):
        return _insert([(draft.event_id or new_event_id(), draft) for draft in drafts])


def _insert(drafts: list[tuple[str, EventDraft]]) -> list[Event]:
    now = timezone.now()
    limits = settings.EVENTHUB
    events = [
        Event(
            event_id=event_id,
            bus=draft.bus,
            source=draft.source,
            detail_type=draft.detail_type,
            detail=draft.detail,
            time=draft.time or now,
            received_at=now,
            resources=draft.resources,
            account=limits["ACCOUNT"],
            region=limits["REGION"],
            trace_header=draft.trace_header,
            traceparent=draft.traceparent,
            tracestate=draft.tracestate,
            attributes=draft.attributes,
            correlation_id=draft.correlation_id,
            causation_id=draft.causation_id,
            aggregate_type=draft.aggregate_type,
            aggregate_id=draft.aggregate_id,
            version=draft.version,
        )
        for event_id, draft in drafts
    ]
    insert_rows(events)
    deliveries = plan_deliveries(events)
    insert_rows(deliveries)
    # Robust: once committed, the events are acknowledged whatever the hand-off does (the sweeper recovers a
    # lost one). So storing raises only if nothing committed, and group commit can retry without duplicates.
    transaction.on_commit(lambda: _after_commit(events, deliveries), robust=True)
    return events


def _after_commit(events: list[Event], deliveries: list[Delivery]) -> None:
    hand_over([d.id for d in deliveries], then=lambda: broadcast.events_stored(events))
