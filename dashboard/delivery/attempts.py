"""Recording attempts: the one place an attempt's outcome is written and the delivery moves on.

Many finished attempts are written in one transaction (attempt rows in one multi-row INSERT, successes
in one raw UPDATE per status code: the worker's hottest statements), because per-delivery round trips
would cap a worker far below what its HTTP client can do. Every update is conditional on the
claim's lease token, so a worker whose lease ran out (and whose delivery another worker took over)
cannot overwrite the newer outcome.
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import F
from django.utils import timezone

from dashboard.ingest.bulk_insert import insert_rows
from dashboard.lib.model_instances import model_instance
from dashboard.models import Delivery, DeliveryAttempt
from dashboard.observability import metrics

from .leases import next_in_order
from .policy import Outcome, State, transition_after
from .states import dead_changes


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
        _insert_attempts([f for f in finished if f.attempted])
        for item in finished:
            if item.outcome.succeeded:
                successes[item.outcome.status_code].append(item)
                continue
            target = item.delivery.target
            transition = transition_after(item.delivery, target, item.outcome, now)
            if transition.state == State.RETRYING:
                changes = {
                    "state": transition.state,
                    "next_attempt_at": transition.next_attempt_at,
                    "last_status_code": item.outcome.status_code,
                    "last_error": item.outcome.error,
                    "lease_token": "",
                    "updated_at": now,
                }
            else:
                changes = dead_changes(
                    reason=transition.dead_reason,
                    error=item.outcome.error,
                    target=target,
                    now=now,
                    status_code=item.outcome.status_code,
                )
            if not item.attempted:
                changes["attempts"] = F("attempts") - 1
            if _held(item).update(**changes) and transition.state == State.RETRYING:
                recorded.retries.append((item.delivery.id, transition.next_attempt_at))
            item.delivery.state = transition.state
        for status_code, items in successes.items():
            _record_successes(items, status_code, now)
            for item in items:
                item.delivery.state = State.SUCCEEDED
        done = [f.delivery for f in finished if f.delivery.state in Delivery.TERMINAL_STATES]
        recorded.next_in_order = next_in_order(done)
    recorded.changed = [f.delivery for f in finished]
    _count(finished)
    return recorded


def _count(finished: list[Finished]) -> None:
    """Metrics, after commit so that work rolled back is not counted. Publish → delivery latency counts
    first-round successes only: a redrive or replay would count the time the delivery sat dead or archived."""
    for item in finished:
        delivery, outcome = item.delivery, item.outcome
        if item.attempted:
            metrics.record_attempt(delivery.target_id, outcome.duration_ms / 1000, succeeded=outcome.succeeded)
        if delivery.state == State.RETRYING:
            metrics.record_retry_scheduled(delivery.target_id)
        elif delivery.state in Delivery.TERMINAL_STATES:
            first_round = outcome.succeeded and not delivery.redrive_count and not delivery.replay_name
            received_at = delivery.event.received_at if first_round else None
            metrics.record_delivery_outcome(delivery.target_id, delivery.state, received_at=received_at)


def _held(item: Finished):
    return Delivery.objects.filter(id=item.delivery.id, lease_token=item.token, state=State.IN_FLIGHT)


def _insert_attempts(items: list[Finished]) -> None:
    """The attempt rows in one INSERT; one already written (a batch recorded twice) is kept as it is."""
    insert_rows([_attempt_row(item) for item in items], ignore_conflicts=True)


def _attempt_row(item: Finished) -> DeliveryAttempt:
    outcome = item.outcome
    return model_instance(
        DeliveryAttempt,
        {
            "id": None,
            "delivery_id": item.delivery.id,
            "target_id": item.delivery.target_id,
            "round": item.delivery.redrive_count,
            "number": item.delivery.attempts,
            "started_at": outcome.started_at,
            "duration_ms": round(outcome.duration_ms, 3),
            "succeeded": outcome.succeeded,
            "status_code": outcome.status_code,
            "error": outcome.error,
            "response_excerpt": outcome.response_excerpt,
            "request_headers": outcome.request_headers,
            "worker": item.worker,
        },
    )


def _record_successes(items: list[Finished], status_code: int | None, now: datetime) -> None:
    """Successes with one status code, in one UPDATE, while the leases still hold (tokens are per claim, so
    a delivery another worker took over carries a token not in the list)."""
    db = connections[DEFAULT_DB_ALIAS]  # resolved once: the `connection` proxy costs a lookup per use
    quote = db.ops.quote_name
    prep_id = Delivery._meta.pk.get_db_prep_value
    ids = [prep_id(i.delivery.id, db) for i in items]
    tokens = sorted({i.token for i in items})
    at = Delivery._meta.get_field("completed_at").get_db_prep_value(now, db)
    with db.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(Delivery._meta.db_table)} SET state = %s, last_status_code = %s, last_error = '', "
            f"dead_reason = '', completed_at = %s, lease_token = '', updated_at = %s "
            f"WHERE state = %s AND id IN ({', '.join(['%s'] * len(ids))}) "
            f"AND lease_token IN ({', '.join(['%s'] * len(tokens))})",
            [State.SUCCEEDED, status_code, at, at, State.IN_FLIGHT, *ids, *tokens],
        )
