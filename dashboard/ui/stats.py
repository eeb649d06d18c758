"""The numbers the overview shows: rates, backlog, dead letters, latency and per-target minute series.

Every query is bounded by an index or by a primary-key range, so the overview stays cheap on a big log:
deliveries are filtered by their UUIDv7 id (its first 48 bits are the creation time in milliseconds),
events and attempts by a scan of their newest rows (their integer keys grow with time).
"""

import math
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import redis
from django.db.models import Count, Max
from django.db.models.functions import TruncMinute
from django.utils import timezone

from dashboard.delivery import heartbeat, transport
from dashboard.models import Delivery, DeliveryAttempt, Event, Rule, Target

RATE_WINDOW = timedelta(seconds=60)  # "events/s" means: over the last minute
SERIES_MINUTES = 15  # sparklines show the last 15 minutes, one point a minute
FAILING_MINUTES = 5  # a target's health is judged over these last minutes: when ...
FAILING_RATIO = 0.2  # ... at least this share of its attempts failed (one failure in a hundred stays healthy), ...
LATEST_ATTEMPTS = 3  # ... it is failing while any of its newest attempts failed, recovering once they all succeeded
LATENCY_WINDOW = timedelta(minutes=5)
STATE_COUNT_CAP = 10_000
LATENCY_SAMPLE = 2_000  # newest successful deliveries used for the p99
# Events and attempts have no index on their timestamps; their keys grow with time, so the newest this-many
# rows bound the scan (or the bisection). Past 100,000 rows a minute (1,666/s) the rate reads as a floor,
# which is still honest.
NEWEST_ROWS_SCANNED = 100_000


def uuid7_floor(moment: datetime) -> uuid.UUID:
    """The smallest UUIDv7 minted at `moment`: `id >= uuid7_floor(t)` selects rows created since t."""
    millis = int(moment.timestamp() * 1000)
    return uuid.UUID(int=(millis & ((1 << 48) - 1)) << 80 | 0x7 << 76 | 0b10 << 62)


def _newest(model, *, since: datetime, time_field: str):
    top = model.objects.aggregate(top=Max("pk"))["top"] or 0
    return model.objects.filter(pk__gt=top - NEWEST_ROWS_SCANNED, **{f"{time_field}__gte": since})


def events_since(since: datetime) -> int:
    """How many events were received since `since`, without reading them: positions grow with receipt,
    so the answer is the newest position minus the first one received since then, found by bisecting
    the newest NEWEST_ROWS_SCANNED positions with primary-key probes (about 17). Positions a rolled-back
    insert consumed inside the window count too, which over one minute is noise."""
    top = Event.objects.aggregate(top=Max("position"))["top"] or 0
    before, after = max(0, top - NEWEST_ROWS_SCANNED), top + 1  # received before `since` <= before < after
    first = top + 1  # the first position found received since then
    while after - before > 1:
        middle = (before + after) // 2
        probe = Event.objects.filter(position__gte=middle).order_by("position").values_list("position", "received_at")
        position, received = probe[0]
        if received < since:
            before = middle
        else:
            after, first = middle, position
    return top + 1 - first


@dataclass(frozen=True)
class Headline:
    events_per_second: float
    deliveries_per_second: float
    backlog: int
    dead_letters: int
    # Publish → delivery of deliveries in their first round: a redrive or a replay re-sends an old event,
    # and counting from its original publish would report the outage, not the bus.
    p99_latency_ms: float | None
    redrives_delivered: int = 0  # over LATENCY_WINDOW
    p99_redrive_latency_ms: float | None = None  # redrive → delivery
    workers: list[str] | None = None  # dispatch workers heartbeating now; None when Redis does not answer


@dataclass(frozen=True)
class TargetFlow:
    """One rule → target edge: its live rate and the last 15 minutes, minute by minute."""

    target: Target
    rate_per_second: float
    succeeded: int
    failed: int
    dead: int
    series: tuple[int, ...]  # deliveries planned per whole minute, oldest first (the current one is left out)
    failures: tuple[int, ...]  # failed attempts per whole minute, oldest first
    recent_failed: int = 0  # attempts over the last FAILING_MINUTES, the current one included
    recent_attempts: int = 0
    latest_failed: bool = False  # any of its LATEST_ATTEMPTS newest attempts failed

    @property
    def health(self) -> str:
        """`paused` (its deliveries wait for a probe to succeed), `failing` (it fails now), `recovering` (it
        failed lately but its newest attempts succeed) or `healthy`."""
        if self.target.is_paused:
            return "paused"
        if not (self.recent_failed > 0 and self.recent_failed >= FAILING_RATIO * self.recent_attempts):
            return "healthy"
        return "failing" if self.latest_failed else "recovering"

    @property
    def is_failing(self) -> bool:
        return self.health == "failing"


@dataclass(frozen=True)
class SourceFlow:
    """Events from one source matched by one rule."""

    source: str
    rule_id: int
    rate_per_second: float
    events: int  # over the series window


@dataclass(frozen=True)
class Flows:
    headline: Headline
    rules: list[Rule]
    targets: list[TargetFlow]
    sources: list[SourceFlow] = field(default_factory=list)

    def source_rates(self) -> dict[str, float]:
        rates: dict[str, float] = defaultdict(float)
        for flow in self.sources:
            rates[flow.source] = max(rates[flow.source], flow.rate_per_second)
        return dict(rates)


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (no interpolation: the answer is a latency that really happened)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def _latencies(delivered, start_field: str) -> list[float]:
    """Milliseconds from `start_field` to completion of the newest LATENCY_SAMPLE deliveries in `delivered`."""
    samples = delivered.order_by("-updated_at").values_list("completed_at", "updated_at", start_field)
    return [
        ((done or updated) - start).total_seconds() * 1000
        for done, updated, start in samples[:LATENCY_SAMPLE]
        if start is not None
    ]


def headline(now: datetime | None = None) -> Headline:
    now = now or timezone.now()
    since = now - RATE_WINDOW
    events = events_since(since)
    delivered = Delivery.objects.filter(state=Delivery.State.SUCCEEDED, updated_at__gte=since).count()
    lately = Delivery.objects.filter(state=Delivery.State.SUCCEEDED, updated_at__gte=now - LATENCY_WINDOW)
    first_round = _latencies(lately.filter(redrive_count=0, replay_name=""), "event__received_at")
    redriven = _latencies(lately.filter(redrive_count__gt=0), "redriven_at")
    return Headline(
        events_per_second=events / RATE_WINDOW.total_seconds(),
        deliveries_per_second=delivered / RATE_WINDOW.total_seconds(),
        backlog=Delivery.objects.filter(state__in=Delivery.ACTIVE_STATES).count(),
        dead_letters=Delivery.objects.filter(state=Delivery.State.DEAD, dead_lettered=True).count(),
        p99_latency_ms=percentile(first_round, 0.99),
        redrives_delivered=len(redriven),
        p99_redrive_latency_ms=percentile(redriven, 0.99),
        workers=workers_up(),
    )


def _minute_index(start: datetime, minute: datetime) -> int:
    return int((minute - start).total_seconds() // 60)


def _per_minute(rows, *, start: datetime, key: str) -> dict[int, list[int]]:
    series: dict[int, list[int]] = defaultdict(lambda: [0] * SERIES_MINUTES)
    for row in rows:
        index = _minute_index(start, row["minute"])
        if 0 <= index < SERIES_MINUTES and row[key] is not None:
            series[row[key]][index] += row["n"]
    return series


def flows(now: datetime | None = None) -> Flows:
    """The bus as a graph: sources → rules → targets, each edge with its rate and recent history."""
    now = now or timezone.now()
    # Whole minutes only: the one in progress would always look like a drop (the live rate covers it).
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=SERIES_MINUTES)
    window = Delivery.objects.filter(id__gte=uuid7_floor(start))
    last_minute = Delivery.objects.filter(id__gte=uuid7_floor(now - RATE_WINDOW))

    planned = _per_minute(
        window.annotate(minute=TruncMinute("created_at")).values("target_id", "minute").annotate(n=Count("id")),
        start=start,
        key="target_id",
    )
    attempts = list(
        _newest(DeliveryAttempt, since=start, time_field="started_at")
        .annotate(minute=TruncMinute("started_at"))
        .values("target_id", "minute", "succeeded")
        .annotate(n=Count("id"))
    )
    failures = _per_minute((row for row in attempts if not row["succeeded"]), start=start, key="target_id")
    failed: dict[int, int] = defaultdict(int)
    recent: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # target -> [failed, all] attempts lately
    recent_start = now.replace(second=0, microsecond=0) - timedelta(minutes=FAILING_MINUTES - 1)
    for row in attempts:
        if not row["succeeded"]:
            failed[row["target_id"]] += row["n"]
        if row["minute"] >= recent_start:
            recent[row["target_id"]][0] += 0 if row["succeeded"] else row["n"]
            recent[row["target_id"]][1] += row["n"]
    rates = dict(last_minute.values_list("target_id").annotate(n=Count("id")).values_list("target_id", "n"))
    succeeded = dict(
        Delivery.objects.filter(state=Delivery.State.SUCCEEDED, updated_at__gte=start)
        .values_list("target_id")
        .annotate(n=Count("id"))
        .values_list("target_id", "n")
    )
    dead = dict(
        Delivery.objects.filter(state=Delivery.State.DEAD, dead_lettered=True)
        .values_list("target_id")
        .annotate(n=Count("id"))
        .values_list("target_id", "n")
    )
    rules = list(Rule.objects.order_by("bus", "name"))
    latest_failed = _latest_failed([t for t, (n, total) in recent.items() if n and n >= FAILING_RATIO * total])
    targets = [
        TargetFlow(
            target=target,
            rate_per_second=rates.get(target.id, 0) / RATE_WINDOW.total_seconds(),
            succeeded=succeeded.get(target.id, 0),
            failed=failed.get(target.id, 0),
            recent_failed=recent[target.id][0] if target.id in recent else 0,
            recent_attempts=recent[target.id][1] if target.id in recent else 0,
            latest_failed=latest_failed.get(target.id, False),
            dead=dead.get(target.id, 0),
            series=tuple(planned.get(target.id, [0] * SERIES_MINUTES)),
            failures=tuple(failures.get(target.id, [0] * SERIES_MINUTES)),
        )
        for target in Target.objects.select_related("rule").order_by("rule__bus", "rule__name", "name")
    ]
    recent = dict(
        ((source, rule_id), n)
        for source, rule_id, n in last_minute.values_list("event__source", "rule_id")
        .annotate(n=Count("event_id", distinct=True))
        .values_list("event__source", "rule_id", "n")
    )
    sources = [
        SourceFlow(
            source=source,
            rule_id=rule_id,
            rate_per_second=recent.get((source, rule_id), 0) / RATE_WINDOW.total_seconds(),
            events=n,
        )
        for source, rule_id, n in window.exclude(rule_id=None)
        .values_list("event__source", "rule_id")
        .annotate(n=Count("event_id", distinct=True))
        .values_list("event__source", "rule_id", "n")
        .order_by("event__source", "rule_id")
    ]
    return Flows(headline=headline(now), rules=rules, targets=targets, sources=sources)


def _latest_failed(target_ids: list[int]) -> dict[int, bool]:
    """For targets that failed often lately: did any of their LATEST_ATTEMPTS newest attempts fail?
    One indexed query each, and only for those targets (a healthy bus asks nothing)."""
    return {
        target_id: not all(
            DeliveryAttempt.objects.filter(target_id=target_id)
            .order_by("-started_at")
            .values_list("succeeded", flat=True)[:LATEST_ATTEMPTS]
        )
        for target_id in target_ids
    }


def target_state_counts(target_id: int) -> dict[str, int | str]:
    """A target's deliveries per state, each counted up to STATE_COUNT_CAP (then shown as "10,000+"): a busy
    target has millions of succeeded deliveries, and counting them all took 1.5 s at 10 million events."""
    counts = {
        state: Delivery.objects.filter(target_id=target_id, state=state).order_by()[:STATE_COUNT_CAP].count()
        for state in Delivery.State
    }
    return {state: f"{n:,}+" if n >= STATE_COUNT_CAP else n for state, n in counts.items()}


def rule_match_counts(*, since: datetime) -> dict[int, int]:
    """Events each rule matched since `since` (counted from the deliveries it planned)."""
    return dict(
        Delivery.objects.filter(id__gte=uuid7_floor(since))
        .exclude(rule_id=None)
        .values_list("rule_id")
        .annotate(n=Count("event_id", distinct=True))
        .values_list("rule_id", "n")
    )


def workers_up() -> list[str] | None:
    """Names of the dispatch workers whose heartbeat is recent, sorted; None when Redis does not answer."""
    try:
        names = transport.client().zrangebyscore(
            heartbeat.workers_key(), time.time() - heartbeat.UP_WITHIN_SECONDS, "+inf"
        )
    except redis.RedisError:
        return None
    return sorted(name.decode() for name in names)
