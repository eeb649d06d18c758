"""Replays: re-send the stored events of a time window through today's rules, or to chosen rules/targets.

Like EventBridge's StartReplay: the events of a bus (or of one archive) whose `time` falls in
[start, end), optionally filtered by a pattern, go out again as new deliveries marked with the replay's
name (`Delivery.replay_name`, shown to receivers as `replay-name`). A replay is fixed when it is
created, including the highest position it may send (`position_ceiling`), so the count confirmed before
the start is exactly what it sends. The worker (`manage.py project`) sends it in steps, rate-limited by
a token bucket; each step creates its deliveries and moves the replay's cursor in one transaction, so a
crash never sends an event twice or skips one. States: starting -> running -> completed / cancelled / failed.
"""

import logging
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import chain

import orjson
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from dashboard.delivery.planning import plan_deliveries
from dashboard.ingest.handover import hand_over_after_commit
from dashboard.models import Delivery, Event, Target
from dashboard.models.streams import Archive, Replay
from dashboard.patterns import InvalidPattern, compile_pattern
from dashboard.ui import broadcast

from .global_log import last_position, wait_for_writers

log = logging.getLogger(__name__)

STEP_EVENTS = 200
_SCAN_CHUNK = 1000
_SCAN_LIMIT = 10_000
REPLAY_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_RATE = 10_000.0


class InvalidReplay(ValueError):
    """A replay request the hub cannot run; the message says which field and why."""


@dataclass(frozen=True)
class ReplaySpec:
    """What a replay sends: the window, the source (bus or archive), the filter and the destinations."""

    start: datetime
    end: datetime
    bus: str = "default"
    event_pattern: str = ""
    archive_name: str = ""
    archive_pattern: str = ""
    rule_ids: tuple[int, ...] = ()
    target_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Preview:
    """The confirmation shown before a replay starts."""

    events: int
    deliveries: int
    position_ceiling: int
    by_target: dict[str, int] = field(default_factory=dict)


def parse_spec(data: dict) -> ReplaySpec:
    """Validate a replay request (API body or dashboard form)."""
    start, end = _time(data, "start"), _time(data, "end")
    if end <= start:
        raise InvalidReplay("'end' must be after 'start'")
    if end > timezone.now() + timedelta(minutes=5):
        raise InvalidReplay("'end' lies in the future; a replay sends stored events only")
    pattern = _pattern_text(data.get("event_pattern"))
    bus = _name(data.get("bus") or "default", "bus")
    archive_name, archive_pattern = "", ""
    if data.get("archive"):
        wanted = _name(data["archive"], "archive")
        archive = Archive.objects.filter(name=wanted).first()
        if archive is None:
            raise InvalidReplay(f"no archive named {wanted!r}")
        archive_name, archive_pattern, bus = archive.name, archive.event_pattern, archive.bus
    rule_ids = _ids(data, "rule_ids")
    target_ids = _ids(data, "target_ids")
    known = set(Target.objects.filter(pk__in=target_ids).values_list("pk", flat=True))
    if set(target_ids) - known:
        raise InvalidReplay(f"unknown target ids: {sorted(set(target_ids) - known)}")
    return ReplaySpec(start, end, bus, pattern, archive_name, archive_pattern, rule_ids, target_ids)


def settled_ceiling() -> int:
    """The highest position now, once every event that may still commit below it has done so."""
    ceiling = last_position()
    wait_for_writers(settings.EVENTHUB["LOG_GAP_WAIT_SECONDS"])
    return ceiling


def preview(spec: ReplaySpec, position_ceiling: int | None = None) -> Preview:
    """How many events the replay would send, and how many deliveries to which targets."""
    ceiling = settled_ceiling() if position_ceiling is None else position_ceiling
    events = deliveries = 0
    by_target: Counter[str] = Counter()
    names = dict(Target.objects.values_list("pk", "name"))
    buffer: list[Event] = []
    scan = _scan(spec, 0, ceiling)
    for event, matches in chain(scan, [(None, False)]):
        if matches:
            buffer.append(event)
        if buffer and (event is None or len(buffer) == _SCAN_CHUNK):
            planned = _plan(spec, "preview", buffer)
            events, deliveries = events + len(buffer), deliveries + len(planned)
            by_target.update(names.get(d.target_id, str(d.target_id)) for d in planned)
            buffer = []
    return Preview(events, deliveries, ceiling, dict(by_target))


def start_replay(
    name: str,
    spec: ReplaySpec,
    *,
    rate_per_second: float | None = None,
    position_ceiling: int | None = None,
    description: str = "",
    user=None,
) -> Replay:
    """Create the replay (state `starting`); the worker picks it up. Pass the previewed ceiling to send
    exactly what the confirmation counted."""
    if not isinstance(name, str) or not REPLAY_NAME.match(name):
        raise InvalidReplay("a replay name is 1-64 letters, digits, '-' or '_'")
    rate = settings.EVENTHUB["REPLAY_DEFAULT_RATE"] if rate_per_second is None else rate_per_second
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate <= MAX_RATE:
        raise InvalidReplay(f"'rate_per_second' must be a number above 0 and at most {MAX_RATE:g}")
    if position_ceiling is not None and (
        not isinstance(position_ceiling, int) or isinstance(position_ceiling, bool) or not 0 <= position_ceiling < 2**63
    ):
        raise InvalidReplay("'position_ceiling' must be a position from a preview")
    counted = preview(spec, position_ceiling)
    try:
        with transaction.atomic():
            transaction.on_commit(broadcast.replays_changed)
            return Replay.objects.create(
                name=name,
                description=description.replace("\x00", ""),
                bus=spec.bus,
                archive_name=spec.archive_name,
                archive_pattern=spec.archive_pattern,
                event_pattern=spec.event_pattern,
                event_start_time=spec.start,
                event_end_time=spec.end,
                rule_ids=list(spec.rule_ids),
                target_ids=list(spec.target_ids),
                rate_per_second=float(rate),
                position_ceiling=counted.position_ceiling,
                events_total=counted.events,
                created_by=user if user is not None and user.is_authenticated else None,
            )
    except IntegrityError:
        raise InvalidReplay(f"a replay named {name!r} exists already") from None


def cancel_replay(name: str) -> bool:
    """Stop sending; deliveries already created still complete. False when it was not running."""
    cancelled = Replay.objects.filter(name=name, state__in=Replay.ACTIVE_STATES).update(
        state=Replay.State.CANCELLED, ended_at=timezone.now(), state_reason="cancelled by an operator"
    )
    if cancelled:
        broadcast.replays_changed()
    return bool(cancelled)


def run_due_replays() -> int:
    """One step of every active replay; returns the events sent. A replay that raises is marked failed."""
    sent = 0
    for replay_id in Replay.objects.filter(state__in=Replay.ACTIVE_STATES).values_list("pk", flat=True):
        try:
            sent += replay_step(replay_id)
        except Exception as error:  # noqa: BLE001 - recorded on the replay, shown to operators
            log.exception("replay %s failed", replay_id)
            Replay.objects.filter(pk=replay_id, state__in=Replay.ACTIVE_STATES).update(
                state=Replay.State.FAILED, ended_at=timezone.now(), state_reason=f"{type(error).__name__}: {error}"
            )
            broadcast.replays_changed()
    return sent


def replay_step(replay_id: int, *, max_events: int = STEP_EVENTS) -> int:
    """Send the next events the rate allows, in one transaction; returns how many were sent."""
    with transaction.atomic():
        replay = Replay.objects.select_for_update().get(pk=replay_id)
        if not replay.is_active:
            return 0
        now = timezone.now()
        if replay.state == Replay.State.STARTING:
            # The bucket starts full: one second's worth of events may go at once.
            replay.state, replay.started_at = Replay.State.RUNNING, now
            replay.tokens = max(1.0, replay.rate_per_second)
        elapsed = (now - replay.last_step_at).total_seconds() if replay.last_step_at else 0.0
        replay.tokens = min(max(1.0, replay.rate_per_second), replay.tokens + elapsed * replay.rate_per_second)
        replay.last_step_at = now
        budget = min(max_events, int(replay.tokens))
        events, replay.cursor_position, exhausted = _next_matching(
            spec_of(replay), replay.cursor_position, replay.position_ceiling, budget
        )
        deliveries = Delivery.objects.bulk_create(_plan(spec_of(replay), replay.name, events, now))
        replay.tokens -= len(events)
        replay.events_replayed += len(events)
        replay.deliveries_created += len(deliveries)
        if events:
            replay.last_replayed_time = max(e.time for e in events)
        if exhausted:
            replay.state, replay.ended_at = Replay.State.COMPLETED, now
        replay.save()
        ids = [d.id for d in deliveries]
        hand_over_after_commit(ids, then=broadcast.replays_changed)
    return len(events)


def spec_of(replay: Replay) -> ReplaySpec:
    return ReplaySpec(
        start=replay.event_start_time,
        end=replay.event_end_time,
        bus=replay.bus,
        event_pattern=replay.event_pattern,
        archive_name=replay.archive_name,
        archive_pattern=replay.archive_pattern,
        rule_ids=tuple(replay.rule_ids),
        target_ids=tuple(replay.target_ids),
    )


def _next_matching(spec: ReplaySpec, after: int, ceiling: int, budget: int) -> tuple[list[Event], int, bool]:
    """Up to `budget` matching events after `after`, the last position examined, and whether the window
    is exhausted. A step examines at most _SCAN_LIMIT events so its transaction stays short."""
    found: list[Event] = []
    for examined, (event, matches) in enumerate(_scan(spec, after, ceiling)):
        if len(found) == budget or examined == _SCAN_LIMIT:
            return found, after, False
        after = event.position
        if matches:
            found.append(event)
    return found, after, True


def _scan(spec: ReplaySpec, after: int, ceiling: int) -> Iterator[tuple[Event, bool]]:
    """The window's events after `after` in position order, each with whether it passes the filters."""
    filters = [compile_pattern(text) for text in (spec.archive_pattern, spec.event_pattern) if text]
    while True:
        rows = list(
            Event.objects.filter(
                bus=spec.bus, time__gte=spec.start, time__lt=spec.end, position__gt=after, position__lte=ceiling
            ).order_by("position")[:_SCAN_CHUNK]
        )
        for event in rows:
            yield event, all(f.matches(event.envelope()) for f in filters)
        if len(rows) < _SCAN_CHUNK:
            return
        after = rows[-1].position


def _plan(spec: ReplaySpec, name: str, events: list[Event], now: datetime | None = None) -> list[Delivery]:
    planned = plan_deliveries(events, replay_name=name)
    if spec.rule_ids or spec.target_ids:
        planned = [d for d in planned if d.rule_id in spec.rule_ids or d.target_id in spec.target_ids]
    for delivery in planned:
        delivery.next_attempt_at = now or timezone.now()
    return planned


def _time(data: dict, key: str) -> datetime:
    value = data.get(key)
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidReplay(f"'{key}' is not an ISO 8601 timestamp") from None
    else:
        raise InvalidReplay(f"'{key}' is required: an ISO 8601 timestamp with a time zone")
    if parsed.tzinfo is None:
        raise InvalidReplay(f"'{key}' needs a time zone, for example 2026-01-31T12:00:00Z")
    try:
        # In UTC, so the database never sees an offset it cannot store (PostgreSQL stops at 15:59).
        return parsed.astimezone(UTC)
    except OverflowError:
        raise InvalidReplay(f"'{key}' is out of range") from None


def _name(value: object, key: str) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= 64 or "\x00" in value:
        raise InvalidReplay(f"'{key}' must be a name of 1-64 characters")
    return value


def _pattern_text(value: object) -> str:
    if value in (None, "", {}):
        return ""
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    if "\x00" in text or "\\u0000" in text:
        raise InvalidReplay("'event_pattern' may not contain NUL characters")
    try:
        compile_pattern(text)
    except InvalidPattern as error:
        raise InvalidReplay(f"'event_pattern' is not a valid pattern: {error}") from None
    return text


def _ids(data: dict, key: str) -> tuple[int, ...]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise InvalidReplay(f"'{key}' must be a list of numeric ids")
    return tuple(sorted(set(value)))
