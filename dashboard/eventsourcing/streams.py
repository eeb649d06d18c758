"""Streams: the events of one aggregate, (aggregate type, aggregate id), appended with optimistic concurrency.

Versions count from 1; an empty stream is at version 0. An append checks the expected version and
assigns the next versions inside the transaction that inserts the events. The unique (aggregate type,
aggregate id, version) index is the arbiter: of two appenders expecting the same version, the second
insert waits for the first to commit, fails, and its retry reports the current version. Appenders with
`any` or `exists` must not fail that way, so on PostgreSQL they first take a transaction-level advisory
lock on the stream and queue instead; SQLite runs one writer at a time anyway.

Appended events go through `publishing.insert_events`, so they are ordinary events: rules match them
and targets receive them. They are validated against their kind's schema as publishing does: a schema in
`enforce` refuses the whole append (`EntryBreaksSchema`, naming the event and the JSON pointer), one in
`warn` records a violation once the append is stored.
"""

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import Max, QuerySet

from dashboard.eventsourcing.upcasting import current_events
from dashboard.ingest.publishing import EventDraft, insert_events
from dashboard.lib.ids import new_event_id
from dashboard.models import Event
from dashboard.schemas.validation import EntryBreaksSchema, SchemaCheck, schema_check

from .global_log import safe_head

ANY = "any"
NO_STREAM = "no_stream"
EXISTS = "exists"
ExpectedVersion = int | str

_TYPE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
_ID_LIMIT = 256
_RETRIES = 3


class InvalidStream(ValueError):
    """A stream name or expected version the store cannot accept."""


class WrongExpectedVersion(Exception):
    """The stream is not at the version the appender expected; nothing was appended."""

    def __init__(self, stream: "StreamName", expected: ExpectedVersion, current: int) -> None:
        super().__init__(f"stream {stream} is at version {current}, expected {expected}")
        self.stream = stream
        self.expected = expected
        self.current = current


class DuplicateEventIds(Exception):
    """Some supplied event ids are already stored, and not as this very append (so it is no retry)."""

    def __init__(self, event_ids: list[str]) -> None:
        super().__init__(f"event ids already stored: {', '.join(event_ids[:5])}")
        self.event_ids = event_ids


@dataclass(frozen=True)
class StreamName:
    aggregate_type: str
    aggregate_id: str

    def __post_init__(self) -> None:
        if not isinstance(self.aggregate_type, str) or not _TYPE_RE.match(self.aggregate_type):
            raise InvalidStream(
                "an aggregate type is 1-128 characters: letters, digits, '_', '.', ':' or '-', "
                "starting with a letter or digit"
            )
        if not isinstance(self.aggregate_id, str) or not 0 < len(self.aggregate_id) <= _ID_LIMIT:
            raise InvalidStream(f"an aggregate id is 1-{_ID_LIMIT} characters")
        if "/" in self.aggregate_id or any(ord(c) < 32 for c in self.aggregate_id):
            raise InvalidStream("an aggregate id may not contain '/' or control characters")

    def __str__(self) -> str:
        return f"{self.aggregate_type}/{self.aggregate_id}"

    def events(self) -> QuerySet:
        return Event.objects.filter(aggregate_type=self.aggregate_type, aggregate_id=self.aggregate_id)


@dataclass(frozen=True)
class AppendResult:
    stream: StreamName
    first_version: int
    last_version: int
    event_ids: list[str]
    positions: list[int]


@dataclass(frozen=True)
class LogPage:
    """A page of the global log and where to resume: `next_after` may pass events the filters left out."""

    events: list[Event]
    next_after: int


def parse_expected_version(value: object) -> ExpectedVersion:
    """`any`, `no_stream`, `exists`, or a version number (0 means the same as `no_stream`)."""
    if isinstance(value, bool):
        raise InvalidStream("expected_version must be 'any', 'no_stream', 'exists' or a whole number")
    if isinstance(value, int):
        if value < 0:
            raise InvalidStream("expected_version cannot be negative")
        return value
    if isinstance(value, str):
        if value in (ANY, NO_STREAM, EXISTS):
            return value
        if value.isdigit():
            return int(value)
    raise InvalidStream("expected_version must be 'any', 'no_stream', 'exists' or a whole number")


def stream_version(stream: StreamName) -> int:
    return stream.events().aggregate(v=Max("version"))["v"] or 0


def caused_by(cause: Event) -> dict:
    """Metadata for an event published in reaction to `cause`: same correlation, causation = the cause."""
    return {"correlation_id": cause.correlation_id or cause.event_id, "causation_id": cause.event_id}


def append(stream: StreamName, drafts: list[EventDraft], expected_version: ExpectedVersion = ANY) -> AppendResult:
    """Append drafts atomically at the next versions, or raise WrongExpectedVersion and store nothing.

    Drafts whose ids are all stored already as exactly this append (a client retrying after a lost
    answer) return the stored result. Without a correlation id, the first event's id starts the chain.
    """
    expected = parse_expected_version(expected_version)
    if not drafts:
        raise InvalidStream("an append needs at least one event")
    may_be_retry = any(d.event_id for d in drafts)
    drafts = _with_ids(drafts)
    schemas = schema_check()  # None unless some schema validates events
    if schemas:
        _validate(schemas, drafts)
    for _ in range(_RETRIES):
        try:
            return _append_once(stream, drafts, expected, may_be_retry, schemas)
        except IntegrityError:
            # Someone slipped past the stream lock (or stored one of our ids); checking again under the
            # lock gives the precise answer: a conflict, a duplicate, or room to append after all.
            continue
    raise WrongExpectedVersion(stream, expected, stream_version(stream))


def read(stream: StreamName, from_version: int = 1, limit: int | None = None) -> list[Event]:
    """The stream's events from `from_version` on, in version order, in their current shape (upcast)."""
    events = stream.events().filter(version__gte=from_version).order_by("version")
    return current_events(events[:limit] if limit else events)


def read_all(
    after: int = 0,
    *,
    limit: int = 100,
    bus: str | None = None,
    detail_types: list[str] | None = None,
    aggregate_type: str | None = None,
    since: datetime | None = None,
    wait: float | None = None,
) -> LogPage:
    """Events after a global position, in order and in their current shape, never past the safe high-water
    mark (see global_log).

    Resume with `next_after`; it moves past events the filters leave out, so a filtered reader does not
    rescan them.
    """
    filtered = bool(bus or detail_types or aggregate_type or since)
    head = safe_head(after, limit=min(limit * 20, 10_000) if filtered else limit, wait=wait)
    events = Event.objects.filter(position__gt=after, position__lte=head)
    if bus:
        events = events.filter(bus=bus)
    if detail_types:
        events = events.filter(detail_type__in=detail_types)
    if aggregate_type:
        events = events.filter(aggregate_type=aggregate_type)
    if since:
        events = events.filter(time__gte=since)
    page = current_events(events.order_by("position")[:limit])
    next_after = page[-1].position if len(page) == limit else head
    return LogPage(page, next_after)


def _validate(schemas: SchemaCheck, drafts: list[EventDraft]) -> None:
    """Check every draft (they carry ids, so a `warn` keeps them as they are); one broken `enforce` schema
    refuses the append, as an append is all or nothing."""
    for index, draft in enumerate(drafts):
        try:
            schemas.check(draft)
        except EntryBreaksSchema as error:
            schemas.record(stored=False)
            raise EntryBreaksSchema(f"events[{index}]: {error}") from None


def _with_ids(drafts: list[EventDraft]) -> list[EventDraft]:
    drafts = [d if d.event_id else replace(d, event_id=new_event_id()) for d in drafts]
    ids = [d.event_id for d in drafts]
    if len(set(ids)) != len(ids):
        raise InvalidStream("the events of one append need distinct ids")
    correlation = drafts[0].event_id
    return [d if d.correlation_id else replace(d, correlation_id=correlation) for d in drafts]


def _append_once(
    stream: StreamName,
    drafts: list[EventDraft],
    expected: ExpectedVersion,
    may_be_retry: bool,
    schemas: SchemaCheck | None,
) -> AppendResult:
    with transaction.atomic():
        if expected in (ANY, EXISTS):
            _lock(stream)
        retried = _stored_as_this_append(stream, drafts) if may_be_retry else None
        if retried is not None:
            return retried
        current = stream_version(stream)
        _check(stream, expected, current)
        stamped = [
            replace(
                draft,
                aggregate_type=stream.aggregate_type,
                aggregate_id=stream.aggregate_id,
                version=current + offset,
            )
            for offset, draft in enumerate(drafts, start=1)
        ]
        events = insert_events(stamped)
        if schemas:  # with the events, so a retried append (answered above) is not recorded twice
            schemas.record()
    return AppendResult(
        stream, current + 1, current + len(events), [e.event_id for e in events], [e.position for e in events]
    )


def _check(stream: StreamName, expected: ExpectedVersion, current: int) -> None:
    if expected == ANY:
        return
    if expected == EXISTS:
        ok = current > 0
    elif expected == NO_STREAM:
        ok = current == 0
    else:
        ok = current == expected
    if not ok:
        raise WrongExpectedVersion(stream, expected, current)


def _stored_as_this_append(stream: StreamName, drafts: list[EventDraft]) -> AppendResult | None:
    ids = [d.event_id for d in drafts]
    stored = list(Event.objects.filter(event_id__in=ids).order_by("position"))
    if not stored:
        return None
    versions = [e.version for e in stored]
    same_append = (
        len(stored) == len(ids)
        and [e.event_id for e in stored] == ids
        and all((e.aggregate_type, e.aggregate_id) == (stream.aggregate_type, stream.aggregate_id) for e in stored)
        and versions == list(range(versions[0], versions[0] + len(ids)))
    )
    if not same_append:
        raise DuplicateEventIds([e.event_id for e in stored])
    return AppendResult(stream, versions[0], versions[-1], ids, [e.position for e in stored])


def _lock(stream: StreamName) -> None:
    """Queue appenders of the same stream on PostgreSQL until this transaction ends."""
    if connection.vendor != "postgresql":
        return
    digest = hashlib.blake2b(f"{stream.aggregate_type}\0{stream.aggregate_id}".encode(), digest_size=8).digest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest, "big", signed=True)])
