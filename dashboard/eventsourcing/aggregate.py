"""Aggregates: state rebuilt by folding a stream's events in version order.

A command method checks the current state, then `record`s new events (folding them in at once); `save`
appends them with the version the aggregate was loaded at as the expected version, so two commands
racing on the same aggregate cannot both succeed. Handlers are methods marked `@on("EventType")`; they
receive the Event (stored, or about to be) and change `self`, never the database.
"""

from collections.abc import Callable
from decimal import Decimal
from typing import ClassVar, Self

from django.utils import timezone

from dashboard.ingest.publishing import EventDraft
from dashboard.models import Event

from .streams import AppendResult, StreamName, append, caused_by, read

_AGGREGATES: dict[str, type["Aggregate"]] = {}


def on(event_type: str) -> Callable:
    """Mark a method as the handler of one event type (aggregates and projections)."""

    def mark(method: Callable) -> Callable:
        method._handles = (*getattr(method, "_handles", ()), event_type)
        return method

    return mark


def handlers_of(cls: type) -> dict[str, str]:
    """Event type -> method name, from the `@on` marks of the class and its bases."""
    handlers: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        for name, attribute in vars(klass).items():
            for event_type in getattr(attribute, "_handles", ()):
                handlers[event_type] = name
    return handlers


def aggregate_class(aggregate_type: str) -> type["Aggregate"] | None:
    """The registered aggregate for a stream category, or None."""
    return _AGGREGATES.get(aggregate_type)


class Aggregate:
    """Base of event-sourced aggregates. Subclasses set `aggregate_type` (registering themselves for the
    dashboard's stream page) and `source` (the `source` of the events they record)."""

    aggregate_type: ClassVar[str] = ""
    source: ClassVar[str] = ""
    _handlers: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls._handlers = handlers_of(cls)
        if cls.aggregate_type:
            _AGGREGATES[cls.aggregate_type] = cls

    def __init__(self, aggregate_id: str) -> None:
        self.id = aggregate_id
        self.version = 0
        self.stored_version = 0
        self._pending: list[EventDraft] = []

    @property
    def stream(self) -> StreamName:
        return StreamName(self.aggregate_type, self.id)

    @classmethod
    def load(cls, aggregate_id: str) -> Self:
        """The aggregate as its stored events leave it (version 0 when the stream is empty)."""
        aggregate = cls(aggregate_id)
        for event in read(aggregate.stream):
            aggregate.apply(event)
        aggregate.stored_version = aggregate.version
        return aggregate

    def apply(self, event: Event) -> None:
        name = self._handlers.get(event.detail_type)
        if name:
            getattr(self, name)(event)
        self.version = event.version or self.version + 1

    def record(self, event_type: str, data: dict, *, cause: Event | None = None) -> None:
        """A new event: folded in now, appended by `save`. With a cause, correlation and causation follow it."""
        draft = EventDraft(
            source=self.source or self.aggregate_type,
            detail_type=event_type,
            detail=data,
            time=timezone.now(),
            **(caused_by(cause) if cause else {}),
        )
        self.apply(Event(detail_type=event_type, detail=data, time=draft.time, version=self.version + 1))
        self._pending.append(draft)

    def save(self) -> AppendResult | None:
        """Append the recorded events, expecting the stream still at the version this aggregate saw."""
        if not self._pending:
            return None
        result = append(self.stream, self._pending, expected_version=self.stored_version)
        self._pending = []
        self.stored_version = result.last_version
        return result

    def state(self) -> dict:
        """The public attributes as JSON-friendly values (Decimal and datetimes as strings)."""
        return {
            name: _plain(value)
            for name, value in vars(self).items()
            if not name.startswith("_") and name not in ("id", "stored_version")
        }


class MergedDetails(Aggregate):
    """What the stream page folds for a category with no registered aggregate: each event's detail
    merged over the previous state, key by key."""

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.merged: dict = {}

    def apply(self, event: Event) -> None:
        self.merged.update(event.detail if isinstance(event.detail, dict) else {})
        super().apply(event)


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
