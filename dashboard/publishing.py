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

from dashboard import broadcast
from dashboard.bulk_insert import insert_rows
from dashboard.delivery import transport
from dashboard.delivery.routing import plan_deliveries
from dashboard.ids import new_event_id
from dashboard.models import Delivery, Event
from dashboard.timestamps import parse_utc_timestamp

log = logging.getLogger(__name__)

_NAME_LIMIT = 256


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


def json_depth(value: object) -> int:
    """Nesting depth of a parsed JSON value, without recursion (the input is untrusted).

    It also refuses the NUL character in any key or string: PostgreSQL cannot store it in text or jsonb,
    so accepting it would turn a bad entry into a failed batch.
    """
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            deepest = max(deepest, depth)
            for key, child in node.items():
                _refuse_nul(key)
                stack.append((child, depth + 1))
        elif isinstance(node, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in node)
        elif isinstance(node, str):
            _refuse_nul(node)
    return deepest


def _refuse_nul(text: str) -> None:
    if "\x00" in text:
        raise InvalidEntry("strings and keys may not contain the NUL character (\\u0000)")


def _text(entry: dict, key: str, *, required: bool = False, limit: int = _NAME_LIMIT) -> str:
    value = entry.get(key)
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
    size = len(orjson.dumps(entry))
    if size > limits["MAX_ENTRY_BYTES"]:
        raise InvalidEntry(
            f"entry is {size} bytes; the limit is {limits['MAX_ENTRY_BYTES']} bytes", code="EntryTooLarge"
        )
    if json_depth(entry) > limits["MAX_JSON_DEPTH"]:
        raise InvalidEntry(f"entry nests deeper than {limits['MAX_JSON_DEPTH']} levels")
    detail = entry.get("detail", {})
    if not isinstance(detail, dict):
        raise InvalidEntry('"detail" must be a JSON object', code="MalformedDetail")
    resources = entry.get("resources", [])
    if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
        raise InvalidEntry('"resources" must be a list of strings')
    return EventDraft(
        source=_text(entry, "source", required=True),
        detail_type=_text(entry, "detail-type", required=True),
        detail=detail,
        bus=_text(entry, "bus", limit=64) or default_bus,
        event_id=_text(entry, "id", limit=64) or None,
        time=_time(entry),
        resources=resources,
        trace_header=_text(entry, "trace-header", limit=500),
        correlation_id=_text(entry, "correlation-id", limit=128),
        causation_id=_text(entry, "causation-id", limit=128),
    )


def publish_entries(entries: list[object], *, default_bus: str = "default") -> list[EntryResult]:
    """Validate and store a batch; one result per entry, in order. Valid entries commit together."""
    return publish_batches([entries], default_bus=default_bus)[0]


def publish_batches(batches: list[list[object]], *, default_bus: str = "default") -> list[list[EntryResult]]:
    """Validate several requests' batches and store every valid entry in one transaction (group commit).

    Each batch gets its own results, as if published alone; one commit for all of them is what lets a
    busy server take many small requests for the price of one.
    """
    results: list[list[EntryResult | None]] = []
    drafts: list[EventDraft] = []
    for entries in batches:
        answers: list[EntryResult | None] = []
        for entry in entries:
            try:
                drafts.append(parse_entry(entry, default_bus=default_bus))
                answers.append(None)
            except InvalidEntry as error:
                answers.append(EntryResult(error_code=error.code, error_message=str(error)))
        results.append(answers)
    stored_ids = iter(store_events(drafts)) if drafts else iter(())
    return [[answer or EntryResult(event_id=next(stored_ids)) for answer in answers] for answers in results]


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
    transaction.on_commit(lambda: _after_commit(events, deliveries))
    return events


def _after_commit(events: list[Event], deliveries: list[Delivery]) -> None:
    transport.enqueue([d.id for d in deliveries])
    broadcast.events_stored(events)
