"""Prometheus metrics: the counters and histograms processes record into, the gauges read from the store at
scrape time, and the text exposition served at /metrics.

Aggregation across processes uses prometheus-client's multiprocess mode: with PROMETHEUS_MULTIPROC_DIR set
(the same empty directory for every process of one machine, wiped when the machine's stack starts), each
Daphne, dispatch worker and projector writes its counters to files there, and any Daphne's /metrics sums
them. Workers serve no HTTP, and a scrape through a load balancer reaches one Daphne at random, so only
a shared view makes the totals right. Without the directory each process counts alone (fine for one
process, as in tests). Gauges that describe the store (backlog, dead letters, lag) are not counted by any
process: the scraping process reads them from the database and Redis, so every Daphne reports the same
values (aggregate them with max(), not sum(), across instances).

Recording is a dictionary lookup and an addition under a lock, cheap enough for the publish path.
Label values that come from producers (bus, source) are capped per process, so a producer inventing
sources cannot grow the memory or the scrape without bound: past the cap they count as "_other".
"""

import os
import time
from collections import Counter as Tally
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from functools import lru_cache

import redis
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.models import Count, Max, Min
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.multiprocess import MultiProcessCollector

from dashboard.delivery import heartbeat, transport

MAX_LABEL_VALUES = 500
MAX_LABEL_LENGTH = 128
OTHER = "_other"

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Publish → delivery spans retries and backoff: from milliseconds to the 24-hour maximum event age.
_END_TO_END_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 86400)

EVENTS_ACCEPTED = Counter("eventhub_events_accepted", "Events stored and acknowledged.", ["bus", "source"])
EVENTS_REFUSED = Counter(
    "eventhub_events_refused",
    "Entries refused, by the error code answered to the producer.",
    ["bus", "source", "reason"],
)
PUBLISH_SECONDS = Histogram(
    "eventhub_publish_duration_seconds",
    "Time to store one request's entries (group-commit wait included).",
    buckets=_LATENCY_BUCKETS,
)
GROUP_COMMIT_ENTRIES = Histogram(
    "eventhub_group_commit_entries",
    "Entries (valid or not) of the requests sharing one group-commit transaction.",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
DELIVERIES = Counter(
    "eventhub_deliveries", "Deliveries that reached a final state, by target and outcome.", ["target_id", "outcome"]
)
ATTEMPT_SECONDS = Histogram(
    "eventhub_delivery_attempt_duration_seconds",
    "Duration of one delivery attempt, by target and outcome (success or failure).",
    ["target_id", "outcome"],
    buckets=_LATENCY_BUCKETS,
)
PUBLISH_TO_DELIVERY_SECONDS = Histogram(
    "eventhub_publish_to_delivery_seconds",
    "From an event's receipt to its successful delivery (first round: not after a redrive or in a replay).",
    ["target_id"],
    buckets=_END_TO_END_BUCKETS,
)
RETRIES_SCHEDULED = Counter("eventhub_retries_scheduled", "Delivery retries scheduled, by target.", ["target_id"])
REDRIVES = Counter("eventhub_redrives", "Dead letters redriven.")

_seen_labels: dict[str, set[str]] = {"bus": set(), "source": set()}


def _bounded(kind: str, value: object) -> str:
    """A producer-chosen label value, or OTHER once MAX_LABEL_VALUES distinct values have been seen."""
    text = value[:MAX_LABEL_LENGTH] if isinstance(value, str) else ""
    seen = _seen_labels[kind]
    if text in seen:
        return text
    if len(seen) >= MAX_LABEL_VALUES:
        return OTHER
    seen.add(text)
    return text


def _origin(entry: object, default_bus: str) -> tuple[str, str]:
    """The (bus, source) labels of an entry: a native-API object, or a draft an adapter validated."""
    if isinstance(entry, dict):
        bus, source = entry.get("bus") or default_bus, entry.get("source")
    else:
        bus, source = getattr(entry, "bus", default_bus), getattr(entry, "source", "")
    return _bounded("bus", bus), _bounded("source", source)


def record_published(entries: list[object], results: Iterable, seconds: float, default_bus: str = "default") -> None:
    """Count one request's entries by outcome, and its publish latency."""
    accepted: Tally[tuple[str, str]] = Tally()
    refused: Tally[tuple[str, str, str]] = Tally()
    for entry, result in zip(entries, results, strict=True):
        bus, source = _origin(entry, default_bus)
        if result.ok:
            accepted[bus, source] += 1
        else:
            refused[bus, source, result.error_code] += 1
    for labels, count in accepted.items():
        EVENTS_ACCEPTED.labels(*labels).inc(count)
    for labels, count in refused.items():
        EVENTS_REFUSED.labels(*labels).inc(count)
    PUBLISH_SECONDS.observe(seconds)


def record_refused(entries: list[object], reason: str, default_bus: str = "default") -> None:
    """Count entries refused all together (the store was unavailable; nothing was acknowledged)."""
    refused = Tally(_origin(entry, default_bus) for entry in entries)
    for (bus, source), count in refused.items():
        EVENTS_REFUSED.labels(bus, source, reason).inc(count)


def record_group_commit(entries: int) -> None:
    GROUP_COMMIT_ENTRIES.observe(entries)


def _target_label(target_id: int | None) -> str:
    return "deleted" if target_id is None else str(target_id)


@lru_cache(maxsize=16384)
def _child(metric: MetricWrapperBase, *labels: str) -> MetricWrapperBase:
    """`metric.labels(*labels)`, looked up once: the worker counts several per delivery, and children are
    never removed."""
    return metric.labels(*labels)


def record_attempt(target_id: int | None, seconds: float, *, succeeded: bool) -> None:
    """One delivery attempt finished (called by the dispatch worker)."""
    _child(ATTEMPT_SECONDS, _target_label(target_id), "success" if succeeded else "failure").observe(seconds)


def record_delivery_outcome(target_id: int | None, outcome: str, received_at: datetime | None = None) -> None:
    """A delivery reached a final state (`succeeded`, `dead` or `cancelled`). Pass the event's `received_at`
    for a first-round success, to record publish → delivery latency."""
    label = _target_label(target_id)
    _child(DELIVERIES, label, outcome).inc()
    if received_at is not None:
        latency = max(0.0, (datetime.now(UTC) - received_at).total_seconds())
        _child(PUBLISH_TO_DELIVERY_SECONDS, label).observe(latency)


def record_retry_scheduled(target_id: int | None) -> None:
    _child(RETRIES_SCHEDULED, _target_label(target_id)).inc()


def record_redrives(count: int) -> None:
    REDRIVES.inc(count)


class StoreCollector:
    """Gauges read from the database and Redis at scrape time. A store that does not answer is reported as
    `eventhub_store_up{store=...} 0` instead of failing the scrape."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("eventhub_store_up", "1 when the store answered this scrape.", labels=["store"])
        try:
            yield from self._database()
            up.add_metric(["database"], 1)
        except DatabaseError:
            up.add_metric(["database"], 0)
        finally:
            connections[DEFAULT_DB_ALIAS].close()
        try:
            yield from self._redis()
            up.add_metric(["redis"], 1)
        except redis.RedisError:
            up.add_metric(["redis"], 0)
        yield up

    def _database(self) -> list[Metric]:
        from dashboard.models import Delivery, Event, Target
        from dashboard.models.streams import ProjectionState, Replay

        now = timezone.now()
        info = GaugeMetricFamily(
            "eventhub_target_info", "Names of a target and its rule.", labels=["target_id", "rule", "target"]
        )
        paused = GaugeMetricFamily("eventhub_target_paused", "1 while a target is paused.", labels=["target_id"])
        disabled = GaugeMetricFamily("eventhub_target_disabled", "1 while a target is disabled.", labels=["target_id"])
        for target_id, rule, name, paused_at, enabled in Target.objects.values_list(
            "id", "rule__name", "name", "paused_at", "enabled"
        ):
            info.add_metric([str(target_id), rule, name], 1)
            paused.add_metric([str(target_id)], 1 if paused_at else 0)
            disabled.add_metric([str(target_id)], 0 if enabled else 1)

        backlog = GaugeMetricFamily(
            "eventhub_backlog_deliveries", "Deliveries pending, in flight or retrying.", labels=["target_id"]
        )
        oldest = GaugeMetricFamily(
            "eventhub_backlog_oldest_age_seconds", "Age of the oldest unfinished delivery.", labels=["target_id"]
        )
        active = Delivery.objects.filter(state__in=Delivery.ACTIVE_STATES).values("target_id")
        for row in active.annotate(count=Count("id"), oldest=Min("created_at")).order_by():
            backlog.add_metric([_target_label(row["target_id"])], row["count"])
            oldest.add_metric([_target_label(row["target_id"])], max(0.0, (now - row["oldest"]).total_seconds()))

        dead = GaugeMetricFamily("eventhub_dead_letters", "Dead letters waiting for a redrive.", labels=["target_id"])
        dead_letters = Delivery.objects.filter(state=Delivery.State.DEAD, dead_lettered=True).values("target_id")
        for row in dead_letters.annotate(count=Count("id")).order_by():
            dead.add_metric([_target_label(row["target_id"])], row["count"])

        head = Event.objects.aggregate(top=Max("position"))["top"] or 0
        log_position = GaugeMetricFamily("eventhub_log_position", "Position of the newest stored event.", value=head)
        lag = GaugeMetricFamily(
            "eventhub_projection_lag_events",
            "Events in the log not yet applied by a projection.",
            labels=["projection"],
        )
        failed = GaugeMetricFamily(
            "eventhub_projection_failed", "1 while a projection is stopped by an error.", labels=["projection"]
        )
        for name, position, status in ProjectionState.objects.values_list("name", "position", "status"):
            lag.add_metric([name], max(0, head - position))
            failed.add_metric([name], 1 if status == ProjectionState.Status.FAILED else 0)

        replays = GaugeMetricFamily(
            "eventhub_replay_progress_ratio",
            "Share of its events an active replay sent.",
            labels=["replay"],
        )
        for name, total, replayed in Replay.objects.filter(state__in=Replay.ACTIVE_STATES).values_list(
            "name", "events_total", "events_replayed"
        ):
            replays.add_metric([name], min(1.0, replayed / total) if total else 0.0)
        return [info, paused, disabled, backlog, oldest, dead, log_position, lag, failed, replays]

    def _redis(self) -> list[Metric]:
        client = transport.client()
        stream = transport.stream_key()
        length = GaugeMetricFamily(
            "eventhub_redis_stream_length", "Entries in the delivery stream.", value=client.xlen(stream)
        )
        delayed = GaugeMetricFamily(
            "eventhub_redis_delayed_retries",
            "Retries waiting for their time.",
            value=client.zcard(transport.delayed_key()),
        )
        lag = GaugeMetricFamily(
            "eventhub_redis_stream_lag", "Stream entries not yet read by the consumer group.", labels=["group"]
        )
        pending = GaugeMetricFamily(
            "eventhub_redis_stream_pending", "Entries read but not yet acknowledged.", labels=["group"]
        )
        try:
            groups = client.xinfo_groups(stream)
        except redis.ResponseError:  # no stream yet: no worker has started
            groups = []
        for group in groups:
            name = group["name"].decode() if isinstance(group["name"], bytes) else group["name"]
            lag.add_metric([name], group.get("lag") or 0)
            pending.add_metric([name], group["pending"])
        workers = client.zcount(heartbeat.workers_key(), time.time() - heartbeat.UP_WITHIN_SECONDS, "+inf")
        up = GaugeMetricFamily("eventhub_workers_up", "Dispatch workers with a recent heartbeat.", value=workers)
        return [length, delayed, lag, pending, up]


class _ThisProcess:
    """The default registry (this process's counters and its process_* metrics) as one collector."""

    def collect(self) -> Iterator[Metric]:
        return REGISTRY.collect()


def exposition(accept: str = "") -> tuple[bytes, str]:
    """Every metric, the processes' counters and the store's gauges, in the format the scraper's Accept header
    asks for (Prometheus text, or OpenMetrics); returns the body and its content type. Blocking."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(StoreCollector())
    encode, content_type = choose_encoder(accept)
    return encode(registry), content_type
