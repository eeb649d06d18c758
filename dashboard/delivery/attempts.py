"""Recording attempts: the one place an attempt's outcome is written and the delivery moves on.

Many finished attempts are written in one transaction (attempt rows in one INSERT, successes in one
UPDATE per status code), because per-delivery round trips would cap a worker far below what its
HTTP client can do. Every update is conditional on the claim's lease token, so a worker whose lease
ran out (and whose delivery another worker took over) cannot overwrite the newer outcome.
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from dashboard.models import Delivery, DeliveryAttempt

from .leases import next_in_order
from .policy import Outcome, State, transition_after


@dataclass
class Finished:
    """A claimed delivery and what its attempt did. `attempted` is False when nothing was sent (for
    example its target was deleted), so no attempt row is written and the attempt is not counted."""

    delivery: Delivery
    token: str
    outcome: Outcome
    worker: str = ""
    attempted: bool = True


@dataclass
class Recorded:
    """What the caller does after commit: schedule retries, release ordered groups, push live hints."""

    retries: list[tuple[uuid.UUID, datetime]] = field(default_factory=list)
    next_in_order: list[uuid.UUID] = field(default_factory=list)
    changed: list[Delivery] = field(default_factory=list)


def record_attempts(finished: list[Finished]) -> Recorded:
    now = timezone.now()
    recorded = Recorded()
    successes: dict[int | None, list[Finished]] = defaultdict(list)
    with transaction.atomic():
        DeliveryAttempt.objects.bulk_create([_attempt_row(f) for f in finished if f.attempted], ignore_conflicts=True)
        for item in finished:
            if item.outcome.succeeded:
                successes[item.outcome.status_code].append(item)
                continue
            transition = transition_after(item.delivery, item.delivery.target, item.outcome, now)
            changes = {
                "state": transition.state,
                "last_status_code": item.outcome.status_code,
                "last_error": item.outcome.error,
                "lease_token": "",
                "updated_at": now,
            }
            if transition.state == State.RETRYING:
                changes["next_attempt_at"] = transition.next_attempt_at
            else:
                changes |= {"dead_reason": transition.dead_reason, "completed_at": now}
                target = item.delivery.target
                changes["dead_lettered"] = target.dead_letter_enabled if target else True
            if not item.attempted:
                changes["attempts"] = F("attempts") - 1
            if _held(item).update(**changes) and transition.state == State.RETRYING:
                recorded.retries.append((item.delivery.id, transition.next_attempt_at))
            item.delivery.state = transition.state
        for status_code, items in successes.items():
            Delivery.objects.filter(
                id__in=[i.delivery.id for i in items],
                lease_token__in={i.token for i in items},
                state=State.IN_FLIGHT,
            ).update(
                state=State.SUCCEEDED,
                last_status_code=status_code,
                last_error="",
                dead_reason="",
                completed_at=now,
                lease_token="",
                updated_at=now,
            )
            for item in items:
                item.delivery.state = State.SUCCEEDED
        done = [f.delivery for f in finished if f.delivery.state in Delivery.TERMINAL_STATES]
        recorded.next_in_order = next_in_order(done)
    recorded.changed = [f.delivery for f in finished]
    return recorded


def _held(item: Finished):
    return Delivery.objects.filter(id=item.delivery.id, lease_token=item.token, state=State.IN_FLIGHT)


def _attempt_row(item: Finished) -> DeliveryAttempt:
    outcome = item.outcome
    return DeliveryAttempt(
        delivery_id=item.delivery.id,
        target_id=item.delivery.target_id,
        round=item.delivery.redrive_count,
        number=item.delivery.attempts,
        started_at=outcome.started_at,
        duration_ms=round(outcome.duration_ms, 3),
        succeeded=outcome.succeeded,
        status_code=outcome.status_code,
        error=outcome.error,
        response_excerpt=outcome.response_excerpt,
        request_headers=outcome.request_headers,
        worker=item.worker,
    )
