"""Retention: purge events older than their bus's retention, unless an archive keeps them.

A bus without a BusRetention row keeps everything (the default). Never purged: stream events (aggregates
and projection rebuilds fold whole streams), events an archive on the bus matches within the archive's
retention, and events with deliveries still under way (invariant: nothing acknowledged is lost). Deletes
go in small batches so each transaction, and the write lock it holds on the event table, stays short.
"""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from dashboard.models import Delivery, Event
from dashboard.models.streams import Archive, BusRetention
from dashboard.patterns import compile_pattern

log = logging.getLogger(__name__)

BATCH = 500


def purge_expired_events(now: datetime | None = None) -> int:
    """Delete expired events of every bus with a retention; returns how many were deleted."""
    now = now or timezone.now()
    deleted = 0
    for retention in BusRetention.objects.all():
        deleted += _purge_bus(retention.bus, now - timedelta(days=retention.retention_days), now)
    if deleted:
        log.info("retention purged %d events", deleted)
    return deleted


def _purge_bus(bus: str, cutoff: datetime, now: datetime) -> int:
    keepers = [
        (compile_pattern(a.event_pattern) if a.event_pattern else None, a.retention_days)
        for a in Archive.objects.filter(bus=bus)
    ]
    # NOT IN over the (few, recent) active deliveries, hashed once per query: the NOT EXISTS that
    # `exclude(deliveries__state__in=...)` writes became a merge anti-join reading every delivery's
    # event_id in order, 4.6 s per batch at 10 million events (docs/benchmarks/scale.md).
    busy = Delivery.objects.filter(state__in=Delivery.ACTIVE_STATES).values("event_id")
    deleted, after = 0, 0
    while True:
        candidates = list(
            Event.objects.filter(bus=bus, received_at__lt=cutoff, aggregate_type__isnull=True, position__gt=after)
            .exclude(position__in=busy)
            .order_by("position")[:BATCH]
        )
        if not candidates:
            return deleted
        after = candidates[-1].position
        deleted += _delete([e.position for e in candidates if not _archived(e, keepers, now)])


def _delete(positions: list[int]) -> int:
    """Delete events with their finished deliveries (cascade). The deliveries are locked first, so a
    redrive racing the purge either finishes before it (and the event stays) or finds nothing left."""
    with transaction.atomic():
        states = Delivery.objects.select_for_update().filter(event_id__in=positions).values_list("event_id", "state")
        busy = {event_id for event_id, state in states if state in Delivery.ACTIVE_STATES}
        _, per_model = Event.objects.filter(position__in=[p for p in positions if p not in busy]).delete()
    return per_model.get(Event._meta.label, 0)


def _archived(event: Event, keepers: list, now: datetime) -> bool:
    for pattern, days in keepers:
        within = days == 0 or event.received_at >= now - timedelta(days=days)
        if within and (pattern is None or pattern.matches(event.envelope())):
            return True
    return False
