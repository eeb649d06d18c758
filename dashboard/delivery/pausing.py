"""Pausing a failing target: its deliveries wait instead of burning their retries, and one probe at a
time tests it until it answers again.

A target is paused when at least `pause_min_attempts` attempts were made to it within the last
`pause_window_seconds` and at least `pause_failure_ratio` of them failed in a way worth retrying, a
429 aside (defaults: all of at least 20 in 5 minutes). While paused, a worker that claims one of its deliveries
asks `wait_for_probe`: one delivery per probe interval is sent (the probe, on a doubling schedule), the
others go back untried to wait; the first success resumes the target and sends everything that waited.
Operators pause and resume by hand with the same functions (`pause_target`, `resume_target`). Pausing
and resuming are recorded on the target, with the reason.
"""

import logging
import random
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from dashboard.ingest.handover import hand_over_after_commit
from dashboard.models import Delivery, DeliveryAttempt, Target
from dashboard.ui import broadcast

from .leases import give_back, is_head_of_group
from .planning import routing_cache
from .policy import RETRIABLE_STATUSES

log = logging.getLogger(__name__)

State = Delivery.State
PROBE_BASE_SECONDS = 2.0
PROBE_CAP_SECONDS = 60.0


WAITING = "waiting: the target is paused"


def waiting_note(delivery: Delivery) -> str:
    """What a delivery put aside for a paused target shows as its last error (keeping the one before)."""
    if delivery.last_error.startswith(WAITING):
        return delivery.last_error
    return f"{WAITING}; before: {delivery.last_error}"[:1000] if delivery.last_error else WAITING


def probe_delay(probes: int) -> float:
    """Seconds from one probe to the next, after `probes` probes failed: 2, 4, 8 ... up to a minute."""
    return min(PROBE_CAP_SECONDS, PROBE_BASE_SECONDS * 2**probes)


def pause_target(target_id: int, reason: str, *, now: datetime | None = None) -> bool:
    """Pause a target (False if it already was): its deliveries wait; the first probe goes after a delay."""
    now = now or timezone.now()
    # updated_at is set by hand: it is how every process's routing table notices the change.
    paused = Target.objects.filter(pk=target_id, paused_at__isnull=True).update(
        paused_at=now,
        paused_reason=reason[:200],
        next_probe_at=now + timedelta(seconds=probe_delay(0)),
        failed_probes=0,
        updated_at=now,
    )
    if paused:
        routing_cache.invalidate()
        log.warning("target %d paused: %s", target_id, reason)
    return bool(paused)


def resume_target(target_id: int, reason: str) -> list[uuid.UUID]:
    """Resume a paused target and hand the deliveries that waited for it to the workers now. Returns
    their ids (none if the target was not paused)."""
    now = timezone.now()
    with transaction.atomic():
        resumed = Target.objects.filter(pk=target_id, paused_at__isnull=False).update(
            paused_at=None,
            paused_reason="",
            next_probe_at=None,
            failed_probes=0,
            resumed_at=now,
            resumed_reason=reason[:200],
            updated_at=now,
        )
        if not resumed:
            return []
        # Only what a worker put aside for the pause goes now: a retry still inside its own backoff (or
        # a receiver's Retry-After) keeps its time.
        waiting = Delivery.objects.filter(
            is_head_of_group(),
            target_id=target_id,
            state__in=(State.PENDING, State.RETRYING),
            last_error__startswith=WAITING,
        )
        ids = list(waiting.values_list("id", flat=True))
        Delivery.objects.filter(id__in=ids, state__in=(State.PENDING, State.RETRYING)).update(
            next_attempt_at=now, updated_at=now
        )
        hand_over_after_commit(ids, then=lambda: broadcast.deliveries_changed(ids))
    routing_cache.invalidate()
    log.warning("target %d resumed (%s): %d waiting deliveries released", target_id, reason, len(ids))
    return ids


def wait_for_probe(delivery: Delivery, token: str) -> datetime | None:
    """For a claimed delivery to a target the caller saw paused: None when it is to be sent now (it is
    the probe, or the target was resumed meanwhile); else it was given back untried, to wait, and the
    time it is due again is returned (spread over a minute after the next probe).

    The give-back holds a share lock on the target's row: waiting deliveries do not block each other,
    but a resume either comes first (and this delivery is sent) or waits for this give-back (and then
    releases it with the others), so none is left behind.
    """
    now = timezone.now()
    row = Target.objects.filter(pk=delivery.target_id).values_list("paused_at", "next_probe_at", "failed_probes")
    paused_at, next_probe_at, probes = row.first() or (None, None, 0)
    if paused_at is None:
        return None
    if next_probe_at is None or next_probe_at <= now:
        # Conditional on the probe time read: of the deliveries offered at once, exactly one is the probe.
        following = now + timedelta(seconds=probe_delay(probes + 1))
        taken = Target.objects.filter(
            pk=delivery.target_id, paused_at__isnull=False, next_probe_at=next_probe_at
        ).update(next_probe_at=following, failed_probes=probes + 1)
        if taken:
            return None
    with transaction.atomic():
        next_probe_at = _next_probe_locked(delivery.target_id)
        if next_probe_at is None:  # resumed meanwhile
            return None
        # Spread over a minute after the next probe: a resume releases them all at once anyway, so they
        # only come back to offer a probe, not in a wave that crowds out other targets' deliveries.
        due = max(next_probe_at, now) + timedelta(seconds=random.uniform(0, PROBE_CAP_SECONDS))
        give_back(delivery, token, due, note=waiting_note(delivery))
    return due


def _next_probe_locked(target_id: int) -> datetime | None:
    """The target's next probe time (None if it is not paused), share-locking its row until commit."""
    table = connection.ops.quote_name(Target._meta.db_table)
    lock = " FOR SHARE" if connection.vendor == "postgresql" else ""  # SQLite has one writer at a time
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT paused_at, next_probe_at FROM {table} WHERE id = %s{lock}", [target_id])
        row = cursor.fetchone()
    if row is None or row[0] is None:
        return None
    field = Target._meta.get_field("next_probe_at")
    value = row[1]
    for convert in connection.ops.get_db_converters(field.get_col(Target._meta.db_table)):
        value = convert(value, field, connection)
    return value or timezone.now()


# Failures that say the target is down (no answer, 408, 429, 5xx), not that a request was wrong (other
# 4xx): only these pause it, since waiting helps only them.
# A 429 is not counted: the target is up and asks to slow down, which Retry-After already does; pausing
# it would hand its throttled deliveries to probes that each meet the throttle again.
_RETRIABLE_FAILURE = Q(succeeded=False) & (
    Q(status_code__isnull=True) | Q(status_code__in=sorted(RETRIABLE_STATUSES - {429})) | Q(status_code__gte=500)
)


def pause_failing_targets(target_ids: Iterable[int]) -> list[int]:
    """Pause each of these targets whose recent attempts cross its threshold; returns those paused now.
    Called after failed attempts to them were recorded."""
    now = timezone.now()
    paused = []
    for target in Target.objects.filter(pk__in=set(target_ids), paused_at__isnull=True):
        since = now - timedelta(seconds=target.pause_window_seconds)
        counts = DeliveryAttempt.objects.filter(target_id=target.pk, started_at__gte=since).aggregate(
            total=Count("id"), failed=Count("id", filter=_RETRIABLE_FAILURE)
        )
        total, failed = counts["total"], counts["failed"]
        if total >= target.pause_min_attempts and failed >= target.pause_failure_ratio * total:
            reason = f"{failed} of {total} attempts failed in the last {target.pause_window_seconds} s"
            if pause_target(target.pk, reason, now=now):
                paused.append(target.pk)
    return paused
