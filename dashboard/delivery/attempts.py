"""Recording attempts: the one place an attempt's outcome is written and the delivery moves on.

Many finished attempts are written in one transaction (attempt rows in one INSERT, successes in one
UPDATE per status code, both raw SQL as the worker's hottest statements), because per-delivery round
trips would cap a worker far below what its HTTP client can do. Every update is conditional on the
claim's lease token, so a worker whose lease ran out (and whose delivery another worker took over)
cannot overwrite the newer outcome.
"""

import json
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import orjson
from django.db import connection, transaction
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
        _insert_attempts([f for f in finished if f.attempted])
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
            _record_successes(items, status_code, now)
            for item in items:
                item.delivery.state = State.SUCCEEDED
        done = [f.delivery for f in finished if f.delivery.state in Delivery.TERMINAL_STATES]
        recorded.next_in_order = next_in_order(done)
    recorded.changed = [f.delivery for f in finished]
    return recorded


def _held(item: Finished):
    return Delivery.objects.filter(id=item.delivery.id, lease_token=item.token, state=State.IN_FLIGHT)


_ATTEMPT_COLUMNS = (
    "delivery_id",
    "target_id",
    "round",
    "number",
    "started_at",
    "duration_ms",
    "succeeded",
    "status_code",
    "error",
    "response_excerpt",
    "request_headers",
    "worker",
)


def _insert_attempts(items: list[Finished]) -> None:
    """The attempt rows in one INSERT. Not bulk_create: on PostgreSQL it sends columns as arrays, which
    psycopg quotes value by value in Python, and that cost more than the rest of the recording. There
    the rows travel as one JSON document instead (encoded by orjson, taken apart by the server); SQLite
    binds plain values cheaply, so it gets a multi-row VALUES."""
    if not items:
        return
    fields = [DeliveryAttempt._meta.get_field(name) for name in _ATTEMPT_COLUMNS]
    quote = connection.ops.quote_name
    table, columns = quote(DeliveryAttempt._meta.db_table), ", ".join(quote(f.column) for f in fields)
    if connection.vendor == "postgresql":
        rows = [dict(zip(_ATTEMPT_COLUMNS, _attempt_values(item), strict=True)) for item in items]
        record = ", ".join(f"{quote(f.column)} {f.db_type(connection)}" for f in fields)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM jsonb_to_recordset(%s::jsonb) AS r({record}) "
                "ON CONFLICT DO NOTHING",
                [_json(rows)],
            )
        return
    params = [
        field.get_db_prep_save(value, connection)
        for item in items
        for field, value in zip(fields, _attempt_values(item), strict=True)
    ]
    row = f"({', '.join(['%s'] * len(fields))})"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * len(items))} ON CONFLICT DO NOTHING", params
        )


def _json(rows: list[dict]) -> str:
    try:
        return orjson.dumps(rows).decode()
    except orjson.JSONEncodeError:  # an integer beyond 64 bits in a header, say: slower, but total
        return json.dumps(rows, default=str)


def _attempt_values(item: Finished) -> tuple:
    outcome = item.outcome
    delivery = item.delivery
    return (
        delivery.id,
        delivery.target_id,
        delivery.redrive_count,
        delivery.attempts,
        outcome.started_at,
        round(outcome.duration_ms, 3),
        outcome.succeeded,
        outcome.status_code,
        outcome.error,
        outcome.response_excerpt,
        outcome.request_headers,
        item.worker,
    )


def _record_successes(items: list[Finished], status_code: int | None, now: datetime) -> None:
    """Successes with one status code, in one UPDATE, while the leases still hold (tokens are per claim, so
    a delivery another worker took over carries a token not in the list)."""
    quote = connection.ops.quote_name
    ids = [Delivery._meta.pk.get_db_prep_value(i.delivery.id, connection) for i in items]
    tokens = sorted({i.token for i in items})
    at = Delivery._meta.get_field("completed_at").get_db_prep_value(now, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(Delivery._meta.db_table)} SET state = %s, last_status_code = %s, last_error = '', "
            f"dead_reason = '', completed_at = %s, lease_token = '', updated_at = %s "
            f"WHERE state = %s AND id IN ({', '.join(['%s'] * len(ids))}) "
            f"AND lease_token IN ({', '.join(['%s'] * len(tokens))})",
            [State.SUCCEEDED, status_code, at, at, State.IN_FLIGHT, *ids, *tokens],
        )
