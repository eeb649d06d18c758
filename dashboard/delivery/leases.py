"""Taking deliveries out of the database for an attempt, and giving them back.

A worker claims deliveries with one conditional UPDATE: only rows still active and due change hands,
so two workers that got the same id from Redis (a duplicate entry, a sweep, a takeover) cannot both
send it, and a redriven or finished delivery is never sent twice. The claim sets a lease: if the
worker dies, the lease runs out and another worker takes the delivery over, counting a worker loss.
Ordered targets add one condition: a delivery waits while an earlier one with the same key is active.
"""

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Exists, F, JSONField, OuterRef, Q
from django.db.models.expressions import Col
from django.utils import timezone

from dashboard.lib.jsoncodec import loads
from dashboard.lib.model_instances import model_instance
from dashboard.models import Delivery, DeliveryAttempt, Event

from .planning import current_target
from .states import dead_changes

State = Delivery.State


def is_head_of_group() -> Q:
    """Unordered, or no earlier delivery with the same target and order key is still active."""
    earlier = Delivery.objects.filter(
        target_id=OuterRef("target_id"), order_key=OuterRef("order_key"), state__in=Delivery.ACTIVE_STATES
    ).filter(Q(event_id__lt=OuterRef("event_id")) | Q(event_id=OuterRef("event_id"), id__lt=OuterRef("id")))
    return Q(order_key="") | ~Exists(earlier)


@dataclass
class Claim:
    """What one claim call found: deliveries now leased to the caller; deliveries whose worker died
    mid-attempt (abandoned: to be taken over one at a time, see `take_over`); and deliveries another
    worker still holds a lease on."""

    deliveries: list[Delivery] = field(default_factory=list)
    abandoned: set[uuid.UUID] = field(default_factory=set)
    held_elsewhere: set[uuid.UUID] = field(default_factory=set)


def _lease(now: datetime, token: str) -> dict:
    lease = now + timedelta(seconds=settings.EVENTHUB["VISIBILITY_TIMEOUT_SECONDS"])
    return {"state": State.IN_FLIGHT, "next_attempt_at": lease, "lease_token": token, "updated_at": now}


def claim(delivery_ids: list[uuid.UUID], token: str) -> Claim:
    """Lease the given deliveries that are due and free for an attempt, in one UPDATE ... RETURNING.

    Raw SQL because this runs once per batch on the hot path, where building the ORM's UPDATE and then
    re-reading the rows cost more than the database's own work. On PostgreSQL the events come joined to
    the same statement, on SQLite (no joins in RETURNING, no round trips to save) in a second query. The
    deliveries left unclaimed (rare: duplicates, takeovers) are looked at only when there are any.
    """
    if not delivery_ids:
        return Claim()
    now = timezone.now()
    lease = _lease(now, token)
    db = connections[DEFAULT_DB_ALIAS]  # resolved once: the `connection` proxy costs a lookup per use
    pk = Delivery._meta.pk
    params = [
        _prep("state", lease["state"], db),
        _prep("next_attempt_at", lease["next_attempt_at"], db),
        token,
        _prep("updated_at", now, db),
        *(pk.get_db_prep_value(i, db) for i in delivery_ids),
        *(_prep("state", s, db) for s in (State.PENDING, State.RETRYING)),
        _prep("next_attempt_at", now, db),
        *(_prep("state", s, db) for s in Delivery.ACTIVE_STATES),
    ]
    joined = db.vendor == "postgresql"
    with db.cursor() as cursor:
        cursor.execute(_claim_sql(len(delivery_ids), joined), params)
        rows = cursor.fetchall()
    result = Claim(deliveries=[_built(Delivery, row, 0, db) for row in rows])
    events = {} if joined else _events(db, {d.event_id for d in result.deliveries})
    for delivery, row in zip(result.deliveries, rows, strict=True):
        delivery.event = _built(Event, row, len(_DELIVERY_ATTNAMES), db) if joined else events[delivery.event_id]
        delivery.target = current_target(delivery.target_id)
    if len(result.deliveries) < len(delivery_ids):
        claimed = {d.id for d in result.deliveries}
        others = Delivery.objects.filter(id__in=[i for i in delivery_ids if i not in claimed], state=State.IN_FLIGHT)
        for delivery_id, next_attempt_at in others.values_list("id", "next_attempt_at"):
            if next_attempt_at <= now:
                result.abandoned.add(delivery_id)
            else:
                result.held_elsewhere.add(delivery_id)
    return result


@cache
def _claim_sql(count: int, join_events: bool) -> str:
    """The claim for `count` ids; the NOT EXISTS is `is_head_of_group` (ordered targets wait for earlier keys).

    The due check sits in a CASE so that no index but the primary key can serve it: right after a burst,
    stale statistics make PostgreSQL think few deliveries are pending and scan the due index instead, which
    reads the whole backlog for every claim.
    """
    quote = connection.ops.quote_name
    table = quote(Delivery._meta.db_table)
    columns = ", ".join(quote(f.column) for f in Delivery._meta.concrete_fields)
    ids = ", ".join(["%s"] * count)
    update = f"""
        UPDATE {table} SET attempts = attempts + 1, state = %s, next_attempt_at = %s, lease_token = %s, updated_at = %s
        WHERE id IN ({ids}) AND CASE WHEN state IN (%s, %s) AND next_attempt_at <= %s THEN 1 END = 1
          AND (order_key = '' OR NOT EXISTS (
            SELECT 1 FROM {table} earlier
            WHERE earlier.target_id = {table}.target_id AND earlier.order_key = {table}.order_key
              AND earlier.state IN (%s, %s, %s)
              AND (earlier.event_id < {table}.event_id
                   OR (earlier.event_id = {table}.event_id AND earlier.id < {table}.id))))
        RETURNING {columns}"""
    if not join_events:
        return update
    events = quote(Event._meta.db_table)
    event_columns = ", ".join(f"{events}.{quote(f.column)}" for f in Event._meta.concrete_fields)
    return f"""
        WITH claimed AS ({update})
        SELECT claimed.*, {event_columns}
        FROM claimed JOIN {events} ON {events}.{quote(Event._meta.pk.column)} = claimed.event_id"""


_DELIVERY_ATTNAMES = [f.attname for f in Delivery._meta.concrete_fields]


def _events(db: BaseDatabaseWrapper, positions: set[int]) -> dict[int, Event]:
    """The claimed deliveries' events by primary key, for SQLite's claim (in_bulk's queryset cost half as
    much again as the rest of the claim)."""
    if not positions:
        return {}
    quote = db.ops.quote_name
    columns = ", ".join(quote(f.column) for f in Event._meta.concrete_fields)
    marks = ", ".join(["%s"] * len(positions))
    with db.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM {quote(Event._meta.db_table)} WHERE {quote(Event._meta.pk.column)} IN ({marks})",
            list(positions),
        )
        events = [_built(Event, row, 0, db) for row in cursor.fetchall()]
    return {event.pk: event for event in events}


def _built(model, row: tuple, start: int, db: BaseDatabaseWrapper):
    """A model instance from its columns in `row` from `start`, converted as the ORM would (JSON decoded,
    UUIDs and times parsed on SQLite), without a queryset around it: claims build hundreds per batch."""
    attnames, converters = _columns(model)
    values = list(row[start : start + len(attnames)])
    for index, column, column_converters in converters:
        for convert in column_converters:
            values[index] = convert(values[index], column, db)
    return model_instance(model, dict(zip(attnames, values, strict=True)), db=db.alias)


@cache
def _columns(model) -> tuple[list[str], list[tuple[int, Col, list]]]:
    """The model's attribute names, and the converters of each column that has any (the backend's, then
    the field's, in the order the ORM's compiler applies them). A JSON field's own converter is replaced by
    the same decoding through orjson (jsoncodec.loads): the standard library's was a tenth of the claim."""
    fields = model._meta.concrete_fields
    converters = []
    for index, model_field in enumerate(fields):
        column = model_field.get_col(model._meta.db_table)
        field_converters = column.get_db_converters(connection)
        if isinstance(model_field, JSONField) and model_field.decoder is None:
            field_converters = [_json_from_db]
        column_converters = connection.ops.get_db_converters(column) + field_converters
        if column_converters:
            converters.append((index, column, column_converters))
    return [f.attname for f in fields], converters


def _json_from_db(value: str | None, expression: Col, db: BaseDatabaseWrapper) -> object:
    """JSONField.from_db_value, decoded by jsoncodec.loads; like it, text that is not JSON stays as it is."""
    if value is None:
        return None
    try:
        return loads(value)
    except json.JSONDecodeError:
        return value


def _prep(field_name: str, value: object, db: BaseDatabaseWrapper) -> object:
    """A value as the database stores it in that Delivery column (UUIDs are text on SQLite, for one)."""
    return Delivery._meta.get_field(field_name).get_db_prep_value(value, db)


def take_over(delivery_id: uuid.UUID, token: str, worker: str) -> tuple[Delivery | None, bool]:
    """Take over one delivery whose lease ran out: its worker died mid-attempt (or stalled past the
    visibility timeout). Returns the delivery (None if it is no longer abandoned) and whether it was
    dead-lettered instead: after WORKER_LOST_LIMIT losses it is a poison event that keeps killing
    workers. The lost attempt is written to the history either way.
    """
    now = timezone.now()
    abandoned = Delivery.objects.filter(id=delivery_id, state=State.IN_FLIGHT, next_attempt_at__lte=now)
    before = abandoned.only("id", "attempts", "worker_losses", "redrive_count", "target_id", "next_attempt_at").first()
    if before is None:
        return None, False
    limit = settings.EVENTHUB["WORKER_LOST_LIMIT"]
    message = "the worker was lost during the attempt (process killed or stalled past the visibility timeout)"
    poison = before.worker_losses + 1 >= limit
    if poison:
        dead = dead_changes(
            reason=Delivery.DeadReason.WORKER_LOST,
            error=f"{message}; {limit} times, so it is treated as a poison event",
            target=current_target(before.target_id),
            now=now,
        )
        changed = abandoned.update(worker_losses=F("worker_losses") + 1, **dead)
    else:
        changed = abandoned.update(
            attempts=F("attempts") + 1, worker_losses=F("worker_losses") + 1, last_error=message, **_lease(now, token)
        )
    if not changed:
        return None, False
    if before.attempts:
        visibility = timedelta(seconds=settings.EVENTHUB["VISIBILITY_TIMEOUT_SECONDS"])
        DeliveryAttempt.objects.bulk_create(
            [
                DeliveryAttempt(
                    delivery_id=before.id,
                    target_id=before.target_id,
                    round=before.redrive_count,
                    number=before.attempts,
                    started_at=before.next_attempt_at - visibility,
                    error=message,
                    worker=worker,
                )
            ],
            ignore_conflicts=True,
        )
    delivery = Delivery.objects.select_related("event").get(id=delivery_id)
    delivery.target = current_target(delivery.target_id)
    return delivery, poison


def give_back(delivery: Delivery, token: str, due: datetime, note: str | None = None) -> bool:
    """Return a claimed delivery untried (its rate-limit slot is later, its target is paused): not an
    attempt, not a loss. `note`, if given, replaces `last_error` (why it waits)."""
    changes = {} if note is None else {"last_error": note}
    return bool(
        Delivery.objects.filter(id=delivery.id, lease_token=token, state=State.IN_FLIGHT).update(
            state=State.PENDING if delivery.attempts <= 1 else State.RETRYING,
            attempts=F("attempts") - 1,
            next_attempt_at=due,
            lease_token="",
            updated_at=timezone.now(),
            **changes,
        )
    )


def next_in_order(finished: list[Delivery]) -> list[uuid.UUID]:
    """For ordered deliveries that just finished: the next delivery of each group, if it is ready to go."""
    now = timezone.now()
    groups = {(d.target_id, d.order_key) for d in finished if d.order_key and d.target_id}
    ready = []
    for target_id, order_key in groups:
        head = (
            Delivery.objects.filter(target_id=target_id, order_key=order_key, state__in=Delivery.ACTIVE_STATES)
            .order_by("event_id", "id")
            .values_list("id", "state", "next_attempt_at")
            .first()
        )
        if head and head[1] == State.PENDING and head[2] <= now:
            ready.append(head[0])
    return ready


def overdue(grace_seconds: float, limit: int) -> list[uuid.UUID]:
    """Unfinished deliveries overdue by more than the grace: their Redis entry was lost, or never made.

    They are touched (due now) so the next sweep leaves them alone for another grace period instead of
    enqueueing them again while they wait in the stream.
    """
    now = timezone.now()
    cutoff = now - timedelta(seconds=grace_seconds)
    ids = list(
        Delivery.objects.filter(is_head_of_group(), state__in=Delivery.ACTIVE_STATES, next_attempt_at__lte=cutoff)
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:limit]
    )
    if ids:
        Delivery.objects.filter(id__in=ids, state__in=Delivery.ACTIVE_STATES, next_attempt_at__lte=cutoff).update(
            next_attempt_at=now
        )
    return ids
