"""Reading the event log for people: filters (including an EventBridge pattern typed by the operator),
history pages with a cursor, and the live tail's batches.

The pattern runs here, on the server, with the same engine that routes events; the browser only ever
receives rendered, escaped rows.
"""

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Max, QuerySet
from django.utils import timezone

from dashboard.models import Event
from dashboard.patterns import InvalidPattern, Pattern, compile_pattern, explain

WINDOWS = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}
PAGE_SIZE = 50
# A pattern filter is applied in Python, so a history page reads at most this many rows before it
# answers with what it found and a cursor to go on from: the page stays fast however rare matches are.
HISTORY_SCAN_ROWS = 5_000
# The tail reads at most this many new rows per update; a client further behind skips ahead and is told how many.
TAIL_SCAN_ROWS = 2_000


@dataclass(frozen=True)
class EventFilter:
    bus: str = ""
    source: str = ""
    detail_type: str = ""
    window: str = ""
    pattern_text: str = ""
    pattern: Pattern | None = field(default=None, compare=False)

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> "EventFilter":
        """Read the filter form; raises InvalidPattern (with its path) for a pattern the engine refuses."""
        pattern_text = (params.get("pattern") or "").strip()
        window = params.get("window") or ""
        return cls(
            bus=(params.get("bus") or "").strip(),
            source=(params.get("source") or "").strip(),
            detail_type=(params.get("detail-type") or "").strip(),
            window=window if window in WINDOWS else "",
            pattern_text=pattern_text,
            pattern=compile_pattern(pattern_text) if pattern_text else None,
        )

    @property
    def is_empty(self) -> bool:
        return not (self.bus or self.source or self.detail_type or self.window or self.pattern_text)

    def query_string(self) -> str:
        pairs = {
            "bus": self.bus,
            "source": self.source,
            "detail-type": self.detail_type,
            "window": self.window,
            "pattern": self.pattern_text,
        }
        return urlencode({key: value for key, value in pairs.items() if value})

    def queryset(self, *, now: datetime | None = None) -> QuerySet[Event]:
        """The part of the filter the database can apply (each field has an index that leads with bus)."""
        events = Event.objects.all()
        if self.bus:
            events = events.filter(bus=self.bus)
        if self.source:
            events = events.filter(source=self.source)
        if self.detail_type:
            events = events.filter(detail_type=self.detail_type)
        if self.window:
            events = events.filter(time__gte=(now or timezone.now()) - WINDOWS[self.window])
        return events

    def accepts(self, event: Event) -> bool:
        """The whole filter, for one event already read (the live tail reads unfiltered rows)."""
        return (
            (not self.bus or event.bus == self.bus)
            and (not self.source or event.source == self.source)
            and (not self.detail_type or event.detail_type == self.detail_type)
            and (not self.window or event.time >= timezone.now() - WINDOWS[self.window])
            and (self.pattern is None or self.pattern.matches(event.envelope()))
        )


@dataclass(frozen=True)
class HistoryPage:
    events: list[Event]
    next_before: int | None  # pass as `before` for the next (older) page; None at the start of the log
    scanned_all: bool = True  # False when a pattern filter stopped at HISTORY_SCAN_ROWS


def history_page(event_filter: EventFilter, *, before: int | None = None, limit: int = PAGE_SIZE) -> HistoryPage:
    """Newest first, older than `before`: cursor pagination on the log position, never OFFSET."""
    events = event_filter.queryset().order_by("-position")
    if before is not None:
        events = events.filter(position__lt=before)
    if event_filter.pattern is None:
        page = list(events[: limit + 1])
        more = len(page) > limit
        return HistoryPage(page[:limit], page[limit - 1].position if more else None)
    found: list[Event] = []
    scanned = 0
    last_position = None
    for event in events[:HISTORY_SCAN_ROWS].iterator(chunk_size=500):
        scanned += 1
        last_position = event.position
        if event_filter.pattern.matches(event.envelope()):
            found.append(event)
            if len(found) == limit:
                return HistoryPage(found, event.position)
    if scanned == HISTORY_SCAN_ROWS:
        return HistoryPage(found, last_position, scanned_all=False)
    return HistoryPage(found, None)


def newest_position() -> int:
    return Event.objects.aggregate(top=Max("position"))["top"] or 0


@dataclass
class TailCursor:
    """Where a live tail has read up to, plus positions that were missing when it read past them.

    Positions are assigned at insert and become visible at commit, so a slower transaction can appear
    below the cursor after the tail moved on. Those holes are re-read for a couple of seconds.
    """

    position: int
    holes: dict[int, float] = field(default_factory=dict)  # position -> monotonic time first seen missing


@dataclass(frozen=True)
class TailBatch:
    shown: list[Event]  # newest first
    matched: int  # events that passed the filter in this batch, shown or not
    skipped: int  # matched (or, past the scan limit, merely new) events not shown

    @property
    def is_empty(self) -> bool:
        return not self.shown and not self.skipped


_MAX_HOLES = 1_000


def read_tail(event_filter: EventFilter, cursor: TailCursor, *, show: int) -> TailBatch:
    """New events since the cursor (and any filled holes), filtered; advances the cursor."""
    now = time.monotonic()
    wait = settings.EVENTHUB.get("LOG_GAP_WAIT_SECONDS", 2.0)
    cursor.holes = {p: t for p, t in cursor.holes.items() if now - t < wait}
    fresh = list(Event.objects.filter(position__gt=cursor.position).order_by("-position")[:TAIL_SCAN_ROWS])
    filled = list(Event.objects.filter(position__in=list(cursor.holes))) if cursor.holes else []
    unscanned = 0
    if len(fresh) == TAIL_SCAN_ROWS:
        unscanned = Event.objects.filter(position__gt=cursor.position, position__lt=fresh[-1].position).count()
    elif fresh:
        seen = {event.position for event in fresh}
        for position in range(cursor.position + 1, fresh[0].position):
            if position not in seen and len(cursor.holes) < _MAX_HOLES:
                cursor.holes.setdefault(position, now)
    for event in filled:
        cursor.holes.pop(event.position, None)
    if fresh:
        cursor.position = fresh[0].position
    candidates = sorted(fresh + filled, key=lambda event: event.position, reverse=True)
    matched = [event for event in candidates if event_filter.accepts(event)]
    return TailBatch(
        shown=matched[:show], matched=len(matched), skipped=len(matched) - min(show, len(matched)) + unscanned
    )


@dataclass(frozen=True)
class RuleVerdict:
    """Whether one rule matches an event, and why, for the event page."""

    rule: object
    explanation: dict | None  # Explanation.to_dict(); None when the stored pattern no longer compiles
    error: str = ""

    @property
    def matched(self) -> bool:
        return bool(self.explanation and self.explanation["matched"])


def explain_rules(event: Event, rules) -> list[RuleVerdict]:
    """Every rule of the event's bus with the engine's field-by-field trace; matching rules first."""
    envelope = event.envelope()
    verdicts = []
    for rule in rules:
        try:
            verdicts.append(RuleVerdict(rule, explain(rule.event_pattern, envelope).to_dict()))
        except InvalidPattern as error:
            verdicts.append(RuleVerdict(rule, None, str(error)))
    return sorted(verdicts, key=lambda verdict: not verdict.matched)


def recent_values(*, field_name: str, rows: int = 5_000, limit: int = 50) -> list[str]:
    """Distinct values of a field among the newest events, for the filter form's suggestions."""
    # Read the newest rows by position, then de-duplicate here: a DISTINCT in SQL lets the planner walk a
    # whole (bus, ...) index in value order instead (a quarter of a second at 10 million events).
    newest = Event.objects.order_by("-position").values_list(field_name, flat=True)[:rows]
    return sorted(set(newest))[:limit]
