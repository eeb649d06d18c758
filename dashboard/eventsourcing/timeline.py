"""What the stream pages show: recently written streams, and a stream's timeline (each event, who or what
caused it, and the aggregate's state right after it), folded incrementally so a live page only reads
the events it has not seen."""

import copy
from dataclasses import dataclass

from dashboard.models import Event

from .aggregate import Aggregate, MergedDetails, aggregate_class
from .projections import load_modules
from .streams import StreamName, read

MAX_SHOWN = 500


@dataclass(frozen=True)
class Cause:
    """The event a timeline entry was caused by, when it is stored here."""

    event_id: str
    position: int
    detail_type: str
    stream: StreamName | None
    version: int | None


@dataclass(frozen=True)
class TimelineEntry:
    event: Event
    state: dict
    cause: Cause | None


class StreamTimeline:
    """Folds a stream with its registered aggregate (or `MergedDetails`) and hands out new entries."""

    def __init__(self, stream: StreamName) -> None:
        load_modules()
        self.stream = stream
        registered = aggregate_class(stream.aggregate_type)
        self.aggregate_name = registered.__name__ if registered else "merged details"
        self.aggregate: Aggregate = (registered or MergedDetails)(stream.aggregate_id)
        self.version = 0

    def advance(self, up_to: int | None = None) -> list[TimelineEntry]:
        """Fold the events after the last one seen (up to version `up_to`) and return them as entries."""
        events = read(self.stream, from_version=self.version + 1)
        if up_to is not None:
            events = [e for e in events if e.version <= up_to]
        entries = []
        for event in events:
            self.aggregate.apply(event)
            entries.append((event, copy.deepcopy(self.aggregate.state())))
        if events:
            self.version = events[-1].version
        causes = _causes({e.causation_id for e, _ in entries if e.causation_id})
        return [TimelineEntry(event, state, causes.get(event.causation_id)) for event, state in entries]


def recent_streams(limit: int = 50, aggregate_type: str = "") -> list[Event]:
    """The newest event of each of the most recently written streams, newest first."""
    events = Event.objects.filter(aggregate_type__isnull=False).order_by("-position")
    if aggregate_type:
        events = events.filter(aggregate_type=aggregate_type)
    seen: set[tuple[str, str]] = set()
    found: list[Event] = []
    for event in events.only("position", "aggregate_type", "aggregate_id", "version", "detail_type", "time")[
        : limit * 20
    ]:
        key = (event.aggregate_type, event.aggregate_id)
        if key not in seen:
            seen.add(key)
            found.append(event)
            if len(found) == limit:
                break
    return found


def _causes(event_ids: set[str]) -> dict[str, Cause]:
    if not event_ids:
        return {}
    causes = {}
    for event in Event.objects.filter(event_id__in=event_ids):
        stream = StreamName(event.aggregate_type, event.aggregate_id) if event.aggregate_type else None
        causes[event.event_id] = Cause(event.event_id, event.position, event.detail_type, stream, event.version)
    return causes
