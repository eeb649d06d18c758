"""Upcasting for event-sourced streams: read an old stored event in the current shape, never changing it.

An upcaster turns the detail of one event type of one aggregate type from schema version n into version
n + 1; registered in a chain, they bring an event of any age to the newest shape:

    @upcaster("Order", "OrderPlaced", from_version=1)
    def split_name(detail: dict) -> dict:
        first, _, last = detail.pop("name").partition(" ")
        return {**detail, "first_name": first, "last_name": last}

    version, detail = upcast("Order", "OrderPlaced", 1, stored.detail)   # -> (3, {...}) after v1→v2→v3

The stored detail is copied before the first upcaster sees it. ``stored_version`` says which version an
event was written under: the registry's latest version of its (bus, source, detail-type) when the event was
received (1 when the registry had none), so events need no version field of their own.

Readers of stream events (stream reads, so aggregates, the stream pages and the stream API; projections and
their rebuilds) call ``as_current`` on each event, or ``current_events`` on a batch. For an event type with no
upcaster that is one set lookup and the event itself: the registry is asked for the stored version only when
an upcaster could apply, once per kind in a batch.
"""

import copy
from collections.abc import Callable, Iterable
from datetime import datetime

from dashboard.models import Event, SchemaVersion

Upcaster = Callable[[dict], dict]

MAX_CHAIN = 1000

_upcasters: dict[tuple[str, str, int], Upcaster] = {}
_upcast_kinds: set[tuple[str, str]] = set()  # (aggregate type, event type) with at least one upcaster


class UpcasterConflict(ValueError):
    """Two upcasters for the same aggregate type, event type and version: which one applies would be luck."""


def upcaster(aggregate_type: str, event_type: str, *, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register the decorated function as the step from ``from_version`` to ``from_version + 1``."""

    def register(function: Upcaster) -> Upcaster:
        key = (aggregate_type, event_type, from_version)
        if key in _upcasters and _upcasters[key] is not function:
            raise UpcasterConflict(f"an upcaster for {event_type} of {aggregate_type} v{from_version} exists")
        _upcasters[key] = function
        _upcast_kinds.add((aggregate_type, event_type))
        return function

    return register


def unregister(aggregate_type: str, event_type: str, from_version: int) -> None:
    _upcasters.pop((aggregate_type, event_type, from_version), None)
    if not any(key[:2] == (aggregate_type, event_type) for key in _upcasters):
        _upcast_kinds.discard((aggregate_type, event_type))


def upcast(aggregate_type: str, event_type: str, version: int, detail: dict) -> tuple[int, dict]:
    """The detail in the newest shape the registered upcasters reach from ``version``, and that version."""
    step = _upcasters.get((aggregate_type, event_type, version))
    if step is None:
        return version, detail
    current = copy.deepcopy(detail)
    for _ in range(MAX_CHAIN):
        current = step(current)
        version += 1
        step = _upcasters.get((aggregate_type, event_type, version))
        if step is None:
            return version, current
    raise RuntimeError(f"more than {MAX_CHAIN} upcasters chained for {event_type} of {aggregate_type}")


Histories = dict[tuple[str, str, str], list[tuple[datetime, int]]]


def stored_version(event: Event, histories: Histories | None = None) -> int:
    """The schema version in force for the event's kind when it was received (1 without a registered schema).

    ``histories`` keeps each kind's version history once read, so a batch of events asks once per kind."""
    key = (event.bus, event.source, event.detail_type)
    history = histories.get(key) if histories is not None else None
    if history is None:
        history = list(
            SchemaVersion.objects.filter(schema__bus=key[0], schema__source=key[1], schema__detail_type=key[2])
            .order_by("number")
            .values_list("created_at", "number")
        )
        if histories is not None:
            histories[key] = history
    return max((number for created, number in history if created <= event.received_at), default=1)


def current_detail(event: Event, histories: Histories | None = None) -> dict:
    """A stored stream event's detail in the current shape: the stored detail itself when no upcaster applies
    (or the event is an upcast copy already)."""
    if not _upcast_kinds or getattr(event, "_upcast", False):  # no upcaster at all: the usual case
        return event.detail
    kind = (event.aggregate_type or event.source, event.detail_type)
    if kind not in _upcast_kinds:
        return event.detail
    return upcast(*kind, stored_version(event, histories), event.detail)[1]


def as_current(event: Event, histories: Histories | None = None) -> Event:
    """The event as readers see it: itself, or an unsaved copy carrying ``current_detail`` (stored events are
    immutable, so the copy can never be written back; it is marked, so it is never upcast twice)."""
    detail = current_detail(event, histories)
    if detail is event.detail:
        return event
    current = copy.copy(event)
    current.detail = detail
    current._upcast = True
    return current


def current_events(events: Iterable[Event]) -> list[Event]:
    """``as_current`` for a batch of events, reading each kind's version history once."""
    histories: Histories = {}
    return [as_current(event, histories) for event in events]
