"""A large, realistic history for scale tests: `manage.py seed_history --events N`.

Several buses, sources and detail-types, Order streams (event sourcing), deliveries in every state, dead
letters with their errors and attempts, spread evenly over the last `days` days and ending now. Rows are
generated here, not through the models: on PostgreSQL they travel by COPY (one stream per table and batch),
elsewhere by executemany. Positions are taken after the current highest one, so seeding must not run while
events are being published; the identity sequence is moved past them at the end.
"""

import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

from dashboard.lib.jsoncodec import dumps
from dashboard.models import Delivery, DeliveryAttempt, Event, EventBus, Rule, Target
from dashboard.models.streams import ProjectionState

# bus -> source -> (share of the bus's events, detail-types)
SOURCES: dict[str, dict[str, tuple[float, tuple[str, ...]]]] = {
    "default": {
        "shop.orders": (0.0, ("OrderCreated", "OrderShipped", "OrderCancelled")),  # the streams below
        "shop.payments": (0.4, ("Payment Authorized", "Payment Captured", "Payment Refunded")),
        "shop.inventory": (0.35, ("Stock Reserved", "Stock Released", "Stock Low")),
        "shop.shipping": (0.25, ("Label Printed", "Parcel Delivered")),
    },
    "billing": {
        "billing.invoices": (0.6, ("Invoice Issued", "Invoice Paid", "Invoice Overdue")),
        "billing.subscriptions": (0.4, ("Subscription Started", "Subscription Renewed", "Subscription Ended")),
    },
    "iot": {
        "iot.sensors": (0.85, ("Temperature Reading", "Humidity Reading", "Temperature Alert")),
        "iot.gateways": (0.15, ("Gateway Online", "Gateway Offline")),
    },
    "audit": {
        "auth.sessions": (0.7, ("User Signed In", "User Signed Out", "Sign In Failed")),
        "admin.actions": (0.3, ("Setting Changed", "Key Rotated")),
    },
}
BUS_SHARES = {"default": 0.35, "billing": 0.15, "iot": 0.35, "audit": 0.15}
STREAM_SHARE = 0.05  # of all events: Order streams on the default bus, two events per order
# bus, rule name, pattern, target names
RULES = [
    ("default", "orders-to-fulfilment", {"source": ["shop.orders"]}, ("fulfilment", "analytics")),
    ("default", "payments-to-ledger", {"source": ["shop.payments"]}, ("ledger",)),
    ("billing", "invoices-to-accounting", {"source": ["billing.invoices"]}, ("accounting",)),
    ("iot", "temperature-alerts", {"detail-type": ["Temperature Alert"]}, ("pager",)),
    ("audit", "everything-to-siem", {"source": ["auth.sessions", "admin.actions"]}, ("siem",)),
]
# Terminal states of deliveries older than ACTIVE_TAIL: (state, share)
OUTCOMES = (("succeeded", 0.975), ("dead", 0.018), ("cancelled", 0.007))
ACTIVE_TAIL = 2_000  # the newest deliveries are still pending, in flight or retrying
DEAD_ERRORS = (
    ("maximum_retry_attempts", 503, "HTTP 503 Service Unavailable"),
    ("maximum_retry_attempts", None, "connection refused"),
    ("non_retriable_status", 400, "HTTP 400 Bad Request: unknown field 'amount'"),
    ("non_retriable_status", 410, "HTTP 410 Gone"),
    ("maximum_event_age", None, "timed out after 5.0 s"),
    ("transform_failed", None, "input path $.detail.order matched nothing"),
)
BATCH = 50_000


@dataclass(frozen=True)
class SeedReport:
    events: int
    deliveries: int
    attempts: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def seed_history(
    events: int,
    *,
    days: float = 30,
    seed: int = 1,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> SeedReport:
    """Append `events` events (and their deliveries and attempts) received over the last `days` days."""
    started = time.monotonic()
    account = (settings.EVENTHUB["ACCOUNT"], settings.EVENTHUB["REGION"])
    now = now or timezone.now()
    rng = random.Random(seed)
    routes = _ensure_routing()
    first = (Event.objects.aggregate(top=Max("position"))["top"] or 0) + 1
    span = timedelta(days=days).total_seconds()
    begin = now.timestamp() - span
    totals = [0, 0, 0]
    streams = [0]  # stream events so far: orders are created and closed in turn
    for start in range(0, events, BATCH):
        count = min(BATCH, events - start)
        event_rows, delivery_rows, attempt_rows = [], [], []
        for offset in range(start, start + count):
            moment = begin + span * (offset + 1) / events
            position = first + offset
            event_row, route_key = _event(rng, position, moment, streams, stream_tag=first, account=account)
            event_rows.append(event_row)
            for rule_id, target_id in routes.get(route_key, ()):
                active = events - offset <= ACTIVE_TAIL
                delivery_row, attempts = _delivery(rng, position, rule_id, target_id, moment, active)
                delivery_rows.append(delivery_row)
                attempt_rows.extend(attempts)
        with transaction.atomic():
            _write(Event, EVENT_COLUMNS, event_rows)
            _write(Delivery, DELIVERY_COLUMNS, delivery_rows)
            _write(DeliveryAttempt, ATTEMPT_COLUMNS, attempt_rows)
        totals = [totals[0] + len(event_rows), totals[1] + len(delivery_rows), totals[2] + len(attempt_rows)]
        if progress:
            progress(totals[0])
    _move_sequence(Event)
    _ensure_projections(first + events - 1)
    _analyze(Event, Delivery, DeliveryAttempt)
    return SeedReport(*totals, seconds=time.monotonic() - started)


def _ensure_routing() -> dict[tuple[str, str, str], list[tuple[int, int]]]:
    """The buses, rules and targets of the mix; returns (bus, source, detail-type) -> [(rule, target)]."""
    for bus in SOURCES:
        EventBus.objects.get_or_create(name=bus)
    routes: dict[tuple[str, str, str], list[tuple[int, int]]] = {}
    for bus, name, pattern, target_names in RULES:
        rule, _ = Rule.objects.get_or_create(bus=bus, name=name, defaults={"event_pattern": dumps(pattern).decode()})
        for target_name in target_names:
            target, _ = Target.objects.get_or_create(
                rule=rule, name=target_name, defaults={"url": f"https://hooks.example.test/{target_name}"}
            )
            for source, (_, detail_types) in SOURCES[bus].items():
                for detail_type in detail_types:
                    if source in pattern.get("source", [source]) and detail_type in pattern.get(
                        "detail-type", [detail_type]
                    ):
                        routes.setdefault((bus, source, detail_type), []).append((rule.id, target.id))
    return routes


def _ensure_projections(position: int) -> None:
    for name in ("order_views", "sku_sales"):
        ProjectionState.objects.update_or_create(name=name, defaults={"position": position})


_WEIGHTED_SOURCES = [
    (bus, source, detail_types, BUS_SHARES[bus] * share)
    for bus, sources in SOURCES.items()
    for source, (share, detail_types) in sources.items()
    if share
]
_SOURCE_CHOICES = [entry[:3] for entry in _WEIGHTED_SOURCES]
_SOURCE_WEIGHTS = [entry[3] for entry in _WEIGHTED_SOURCES]


def _event(
    rng: random.Random, position: int, moment: float, streams: list[int], *, stream_tag: int, account: tuple
) -> tuple[tuple, tuple]:
    received = datetime.fromtimestamp(moment, UTC)
    event_id = _uuid7_text(rng, moment, dashed=True)
    if rng.random() < STREAM_SHARE:
        # An order is created, then shipped or cancelled: two events per stream, versions 1 and 2.
        order, second = divmod(streams[0], 2)
        streams[0] += 1
        aggregate_id = f"ord-{stream_tag}-{order}"
        if second:
            detail_type = "OrderShipped" if rng.random() < 0.9 else "OrderCancelled"
            detail = {"orderId": aggregate_id, "carrier": rng.choice(("dhl", "ups", "post"))}
        else:
            detail_type = "OrderCreated"
            quantity = rng.randint(1, 4)
            detail = {
                "orderId": aggregate_id,
                "customer": f"cust-{rng.randint(1, 50_000)}",
                "items": [{"sku": f"SKU-{rng.randint(1, 400)}", "quantity": quantity, "price": 12.5}],
                "total": 12.5 * quantity,
                "currency": "EUR",
            }
        row = (position, event_id, "default", "shop.orders", detail_type, detail, received, received)
        return row + ("Order", aggregate_id, second + 1) + account, ("default", "shop.orders", detail_type)
    bus, source, detail_types = rng.choices(_SOURCE_CHOICES, _SOURCE_WEIGHTS)[0]
    detail_type = rng.choice(detail_types)
    detail = {
        "id": position,
        "account": f"acct-{rng.randint(1, 5_000)}",
        "amount": rng.randint(1, 100_000) / 100,
        "region": rng.choice(("eu-west-1", "us-east-1", "ap-south-1")),
        "note": "seeded by seed_history",
    }
    row = (position, event_id, bus, source, detail_type, detail, received, received, None, None, None) + account
    return row, (bus, source, detail_type)


def _delivery(
    rng: random.Random, position: int, rule_id: int, target_id: int, moment: float, active: bool
) -> tuple[tuple, list[tuple]]:
    delivery_id = _uuid7_text(rng, moment)
    created = datetime.fromtimestamp(moment, UTC)
    if active:
        state = rng.choice(("pending", "in_flight", "retrying"))
    else:
        state = rng.choices([s for s, _ in OUTCOMES], [w for _, w in OUTCOMES])[0]
    attempts: list[tuple] = []
    reason, status, error, completed = "", None, "", None
    updated = created
    if state == "succeeded":
        status, completed = 200, datetime.fromtimestamp(moment + rng.uniform(0.005, 0.2), UTC)
        updated = completed
        if rng.random() < 0.1:
            attempts.append((delivery_id, target_id, 1, created, rng.uniform(5, 200), True, 200, ""))
    elif state == "dead":
        reason, status, error = rng.choice(DEAD_ERRORS)
        completed = updated = datetime.fromtimestamp(moment + rng.uniform(1, 3600), UTC)
        for number in (1, 2):
            attempts.append((delivery_id, target_id, number, created, rng.uniform(5, 5000), False, status, error))
    elif state == "cancelled":
        reason = "target_disabled"
        completed = updated = datetime.fromtimestamp(moment + 1, UTC)
    elif state == "retrying":
        status, error = 503, "HTTP 503 Service Unavailable"
        attempts.append((delivery_id, target_id, 1, created, rng.uniform(5, 500), False, status, error))
    row = (
        delivery_id,
        position,
        rule_id,
        target_id,
        state,
        len(attempts),
        updated,
        status,
        error,
        reason if state in ("dead", "cancelled") else "",
        state != "dead" or rng.random() < 0.9,  # a few dead deliveries of targets without dead-lettering
        created,
        updated,
        completed,
    )
    return row, attempts


def _uuid7_text(rng: random.Random, moment: float, *, dashed: bool = False) -> str:
    """A UUIDv7 minted at `moment` (its time prefix is what the overview's id ranges rely on)."""
    millis = int(moment * 1000) & ((1 << 48) - 1)
    value = millis << 80 | 0x7 << 76 | rng.getrandbits(12) << 64 | 0b10 << 62 | rng.getrandbits(62)
    text = f"{value:032x}"
    if dashed:
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
    return text  # PostgreSQL's uuid input and Django's SQLite storage both take bare hex


EVENT_COLUMNS = (
    "position",
    "event_id",
    "bus",
    "source",
    "detail_type",
    "detail",
    "time",
    "received_at",
    "aggregate_type",
    "aggregate_id",
    "version",
    "account",
    "region",
)
DELIVERY_COLUMNS = (
    "id",
    "event_id",
    "rule_id",
    "target_id",
    "state",
    "attempts",
    "next_attempt_at",
    "last_status_code",
    "last_error",
    "dead_reason",
    "dead_lettered",
    "created_at",
    "updated_at",
    "completed_at",
)
ATTEMPT_COLUMNS = (
    "delivery_id",
    "target_id",
    "number",
    "started_at",
    "duration_ms",
    "succeeded",
    "status_code",
    "error",
)


def _write(model: type[models.Model], columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert `rows` (values of `columns`); every other column takes its field's default."""
    if not rows:
        return
    fields = [model._meta.get_field(name) for name in columns]
    rest = [
        f
        for f in model._meta.concrete_fields
        if f.column not in columns and f.attname not in columns and not (f.primary_key and f.column not in columns)
    ]
    defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in rest)
    all_columns = [f.column for f in fields] + [f.column for f in rest]
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in all_columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            encoders = [_copy_encoder(f) for f in fields]
            tail = "".join(
                "\t" + _copy_text(value) for value in (_json_default(f, v) for f, v in zip(rest, defaults, strict=True))
            )
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                copy.write("".join(_copy_lines(rows, encoders, tail)))
        else:
            preps = [_prep(f) for f in fields]
            marks = ", ".join(["%s"] * len(all_columns))
            cursor.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({marks})",
                [tuple(prep(value) for prep, value in zip(preps, row, strict=True)) + defaults for row in rows],
            )


def _copy_lines(rows: Iterable[tuple], encoders: list[Callable], tail: str) -> Iterator[str]:
    for row in rows:
        yield "\t".join([encode(value) for encode, value in zip(encoders, row, strict=True)]) + tail + "\n"


def _json_default(field: models.Field, value: object) -> object:
    # A JSON field's prepared default is an adapter object; COPY wants its text.
    return dumps(field.get_default()).decode() if isinstance(field, models.JSONField) else value


def _copy_text(value: object) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def _copy_encoder(field: models.Field) -> Callable[[object], str]:
    if isinstance(field, models.JSONField):
        return lambda value: _copy_text(dumps(value).decode())
    return _copy_text


def _prep(field: models.Field) -> Callable[[object], object]:
    if isinstance(field, models.JSONField):
        return lambda value: dumps(value).decode()
    if isinstance(field, models.DateTimeField):
        return lambda value: None if value is None else connection.ops.adapt_datetimefield_value(value)
    return lambda value: value


def _move_sequence(model: type[models.Model]) -> None:
    """Positions were given explicitly; the next published event must come after them."""
    if connection.vendor != "postgresql":
        return  # SQLite's AUTOINCREMENT follows the highest key inserted
    table, column = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, %s), (SELECT MAX({connection.ops.quote_name(column)}) "
            f"FROM {connection.ops.quote_name(table)}))",
            [table, column],
        )


def _analyze(*tables: type[models.Model]) -> None:
    """Fresh planner statistics: autovacuum would take a while to notice a table that grew this fast."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
