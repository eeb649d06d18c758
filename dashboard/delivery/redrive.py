"""Dead letters: find them, predict what a redrive would do, redrive them, or purge them.

Plain functions shared by the API (`/api/v1/dead-letters/...`), `manage.py redrive` and the dashboard.
A selection is a queryset of deliveries or a list of delivery ids; only dead-lettered deliveries in it
are acted on. Work is done in set-based chunks (never one query per delivery), and every change is
pushed to live pages after it commits.

A redrive sends the delivery again to its original target (routing is not re-evaluated; the dry run
says when the rule would no longer match). It resets the attempt count and the event-age clock,
keeps the attempt history (new attempts are numbered in a new round), records who and when, and is
idempotent: only deliveries still dead change, so a second click finds nothing left to redrive.
"""

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.db import transaction
from django.db.models import Case, DateTimeField, F, Q, QuerySet, Value, When
from django.utils import timezone

from dashboard.ingest.handover import hand_over, hand_over_after_commit
from dashboard.lib.ids import parse_uuids
from dashboard.models import Delivery, DeliveryAttempt
from dashboard.observability import metrics
from dashboard.patterns import InvalidPattern, compile_pattern
from dashboard.ui import broadcast

from .leases import next_in_order

log = logging.getLogger(__name__)

CHUNK = 500
# "Still failing" looks at this many of the target's most recent attempts: none of them succeeded.
RECENT_ATTEMPTS = 3

Selection = QuerySet | Iterable[uuid.UUID | str]
Progress = Callable[[int, int], None]


@dataclass
class DeadLetterFilter:
    """What an operator selects dead letters by; every field is optional and they combine with AND."""

    rule_id: int | None = None
    target_id: int | None = None
    error: str = ""  # a substring of the last error or the dead reason
    status_code: int | None = None
    since: datetime | None = None  # dead-lettered at or after
    until: datetime | None = None  # dead-lettered before
    ids: list[uuid.UUID | str] | None = None


@dataclass
class RedriveResult:
    redriven: int = 0
    skipped: int = 0  # not dead any more (already redriven, purged) or its target is gone
    ids: list[uuid.UUID] = field(default_factory=list)


DRY_RUN_BUCKETS = ("will_be_delivered", "rule_no_longer_matches", "target_deleted_or_disabled", "target_still_failing")


def dead_letters(selector: DeadLetterFilter | None = None) -> QuerySet[Delivery]:
    """Dead-lettered deliveries matching the filter, newest first."""
    selector = selector or DeadLetterFilter()
    found = Delivery.objects.filter(state=Delivery.State.DEAD, dead_lettered=True)
    if selector.rule_id is not None:
        found = found.filter(rule_id=selector.rule_id)
    if selector.target_id is not None:
        found = found.filter(target_id=selector.target_id)
    if selector.error:
        found = found.filter(Q(last_error__icontains=selector.error) | Q(dead_reason__icontains=selector.error))
    if selector.status_code is not None:
        found = found.filter(last_status_code=selector.status_code)
    if selector.since is not None:
        found = found.filter(completed_at__gte=selector.since)
    if selector.until is not None:
        found = found.filter(completed_at__lt=selector.until)
    if selector.ids is not None:
        found = found.filter(id__in=parse_uuids(selector.ids))
    return found.order_by("-completed_at", "-id")


def redrive_dead_letters(
    selection: Selection,
    *,
    user=None,
    actor: str = "",
    rate: float | None = None,
    progress: Progress | None = None,
) -> RedriveResult:
    """Send the selected dead letters again. `rate` caps deliveries per second: the redriven deliveries
    are spread over time in the delayed queue, so this returns at once and workers keep the pace.
    `actor` names a non-user caller (an API key id); `progress(done, total)` is called per chunk."""
    if rate is not None and rate <= 0:
        raise ValueError("rate must be positive")
    ids = _selected_ids(selection)
    result = RedriveResult()
    who = actor or (user.get_username() if user is not None else "")
    start = timezone.now()
    for offset in range(0, len(ids), CHUNK):
        chunk = ids[offset : offset + CHUNK]
        redriven = _redrive_chunk(chunk, user, who, start, rate, offset=result.redriven)
        result.redriven += len(redriven)
        result.skipped += len(chunk) - len(redriven)
        result.ids += redriven
        if progress:
            progress(offset + len(chunk), len(ids))
    log.info("%s redrove %d dead letters (%d skipped)", who or "someone", result.redriven, result.skipped)
    metrics.record_redrives(result.redriven)
    return result


def _redrive_chunk(
    chunk: list[uuid.UUID], user, who: str, start: datetime, rate: float | None, *, offset: int
) -> list[uuid.UUID]:
    now = timezone.now()
    with transaction.atomic():
        # Locking the rows makes a concurrent second click wait, then find them no longer dead.
        redriven = list(
            Delivery.objects.select_for_update()
            .filter(id__in=chunk, state=Delivery.State.DEAD, target__isnull=False)
            .order_by("id")
            .values_list("id", flat=True)
        )
        due = {
            delivery_id: start + timedelta(seconds=(offset + n) / rate) if rate else now
            for n, delivery_id in enumerate(redriven)
        }
        Delivery.objects.filter(id__in=redriven, state=Delivery.State.DEAD).update(
            state=Delivery.State.PENDING,
            attempts=0,
            worker_losses=0,
            next_attempt_at=_spread(due, now) if rate else now,
            lease_token="",
            dead_reason="",
            completed_at=None,
            redrive_count=F("redrive_count") + 1,
            redriven_at=now,
            redriven_by=user,
            redriven_by_name=who[:150],
            updated_at=now,
        )
        hints = partial(broadcast.deliveries_changed, list(due))
        hand_over_after_commit(() if rate else due, later=due.items() if rate else (), then=hints)
    return redriven


def _spread(due: dict[uuid.UUID, datetime], now: datetime) -> Case:
    """Each delivery's own due time, in the one UPDATE (a rate-capped redrive paces them apart)."""
    return Case(
        *(When(id=delivery_id, then=Value(when)) for delivery_id, when in due.items()),
        default=Value(now),
        output_field=DateTimeField(),
    )


def purge_dead_letters(selection: Selection, *, user=None, actor: str = "") -> int:
    """Delete the selected dead letters and their attempt history. Returns how many were deleted."""
    ids = _selected_ids(selection)
    purged = 0
    for offset in range(0, len(ids), CHUNK):
        chunk = ids[offset : offset + CHUNK]
        with transaction.atomic():
            _, deleted = Delivery.objects.filter(id__in=chunk, state=Delivery.State.DEAD).delete()
            purged += deleted.get(Delivery._meta.label, 0)
            transaction.on_commit(lambda c=chunk: broadcast.deliveries_changed(c))
    who = actor or (user.get_username() if user is not None else "someone")
    log.info("%s purged %d dead letters", who, purged)
    return purged


def cancel_deliveries(selection: Selection, *, user=None, actor: str = "") -> int:
    """Stop unfinished deliveries (pending, retrying or in flight): they end `cancelled` and are not sent
    again. An attempt already on the wire finishes, but its outcome no longer changes the delivery."""
    ids = _selected_ids(selection)
    cancelled: list[uuid.UUID] = []
    who = actor or (user.get_username() if user is not None else "someone")
    for offset in range(0, len(ids), CHUNK):
        chunk = ids[offset : offset + CHUNK]
        now = timezone.now()
        with transaction.atomic():
            active = Delivery.objects.select_for_update().filter(id__in=chunk, state__in=Delivery.ACTIVE_STATES)
            found = list(active.values_list("id", flat=True))
            Delivery.objects.filter(id__in=found, state__in=Delivery.ACTIVE_STATES).update(
                state=Delivery.State.CANCELLED,
                lease_token="",
                last_error=f"cancelled by {who}"[:1000],
                completed_at=now,
                updated_at=now,
            )
            cancelled += found
    if cancelled:
        # Ordered groups waiting behind a cancelled delivery may go on.
        done = list(Delivery.objects.filter(id__in=cancelled).exclude(order_key=""))
        hand_over(next_in_order(done), then=partial(broadcast.deliveries_changed, cancelled))
    log.info("%s cancelled %d deliveries", who, len(cancelled))
    return len(cancelled)


def dry_run_redrive(selection: Selection) -> dict[str, int]:
    """Group the selection by what a redrive would most likely do now, without changing anything.

    - target_deleted_or_disabled: the target (or its rule) is gone or disabled; nothing would be sent;
    - rule_no_longer_matches: the rule's current pattern does not match the event any more;
    - target_still_failing: none of the target's most recent attempts succeeded;
    - will_be_delivered: everything else.
    """
    buckets = dict.fromkeys(DRY_RUN_BUCKETS, 0)
    failing: dict[int, bool] = {}
    patterns: dict[int, object] = {}
    ids = _selected_ids(selection)
    for offset in range(0, len(ids), CHUNK):
        chunk = Delivery.objects.filter(id__in=ids[offset : offset + CHUNK], state=Delivery.State.DEAD)
        for delivery in chunk.select_related("event", "target", "target__rule"):
            buckets[_predict(delivery, failing, patterns)] += 1
    return buckets


def _predict(delivery: Delivery, failing: dict[int, bool], patterns: dict[int, object]) -> str:
    target = delivery.target
    if target is None or not target.enabled or not target.rule.is_enabled:
        return "target_deleted_or_disabled"
    rule = target.rule
    if rule.pk not in patterns:
        try:
            patterns[rule.pk] = compile_pattern(rule.event_pattern)
        except InvalidPattern:
            patterns[rule.pk] = None
    pattern = patterns[rule.pk]
    if pattern is None or rule.bus != delivery.event.bus or not pattern.matches(delivery.event.envelope()):
        return "rule_no_longer_matches"
    if target.pk not in failing:
        recent = DeliveryAttempt.objects.filter(target=target).order_by("-started_at")[:RECENT_ATTEMPTS]
        outcomes = list(recent.values_list("succeeded", flat=True))
        failing[target.pk] = bool(outcomes) and not any(outcomes)
    return "target_still_failing" if failing[target.pk] else "will_be_delivered"


def redrive_progress(ids: Iterable[uuid.UUID | str]) -> dict[str, int]:
    """Where redriven deliveries are now, by state: a redrive is done when none is pending or in flight."""
    counts = dict.fromkeys(Delivery.State.values, 0)
    ids = parse_uuids(ids)
    for offset in range(0, len(ids), CHUNK):
        for state in Delivery.objects.filter(id__in=ids[offset : offset + CHUNK]).values_list("state", flat=True):
            counts[state] += 1
    return counts


def _selected_ids(selection: Selection) -> list[uuid.UUID]:
    if isinstance(selection, QuerySet):
        return list(selection.values_list("id", flat=True))
    return parse_uuids(selection)
