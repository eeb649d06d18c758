"""Multi-row INSERT for the hot write paths: all rows travel as one JSON parameter that the database unpacks.

Django's bulk_create prepares every value through its field and, on PostgreSQL, dumps each column as an
array; on the publish path that cost more than the rest of the request together. Here the rows are
encoded once (orjson) and unpacked by the database in C: `jsonb_array_elements` on PostgreSQL,
`json_each` on SQLite. Values are taken as the model instances hold them (after `pre_save`, so
`auto_now` works); the field kinds our models use are supported: text, numbers, booleans, JSON,
timestamps, UUIDs and foreign keys.
"""

from collections.abc import Callable
from datetime import datetime
from functools import cache
from operator import attrgetter
from uuid import UUID

from django.db import connection, models

from dashboard.lib.jsoncodec import dumps


def insert_rows(instances: list[models.Model], *, ignore_conflicts: bool = False) -> None:
    """INSERT unsaved instances of one model in one statement, in order; sets auto-increment primary keys.

    With `ignore_conflicts` a row that violates a unique constraint is skipped (ON CONFLICT DO NOTHING)
    and, as with bulk_create, primary keys are not set.
    """
    if not instances:
        return
    model = type(instances[0])
    values, sql, returns_pk = _statement(model, connection.vendor, ignore_conflicts)
    rows = [[value(instance) for value in values] for instance in instances]
    with connection.cursor() as cursor:
        cursor.execute(sql, [dumps(rows).decode()])
        if returns_pk:
            for instance, (pk,) in zip(instances, cursor.fetchall(), strict=True):
                instance.pk = pk
    for instance in instances:
        instance._state.adding = False
        instance._state.db = connection.alias


def _value_of(field: models.Field, vendor: str) -> Callable[[models.Model], object]:
    """How to read a field's value off an instance, as the database's JSON unpacking expects it."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):

        def read(instance: models.Model) -> object:
            return field.pre_save(instance, True)
    else:
        read = attrgetter(field.attname)
    target = field.target_field if field.is_relation else field
    if isinstance(target, models.DateTimeField):
        encode = datetime.isoformat if vendor == "postgresql" else connection.ops.adapt_datetimefield_value
    elif isinstance(target, models.UUIDField):
        encode = str if vendor == "postgresql" else _uuid_hex
    else:
        return read

    def read_encoded(instance: models.Model) -> object:
        value = read(instance)
        return None if value is None else encode(value)

    return read_encoded


def _uuid_hex(value: UUID | str) -> str:
    return (value if isinstance(value, UUID) else UUID(value)).hex


@cache
def _statement(model: type[models.Model], vendor: str, ignore_conflicts: bool) -> tuple[list[Callable], str, bool]:
    auto_pk = isinstance(model._meta.pk, models.AutoField)
    fields = [f for f in model._meta.concrete_fields if not (auto_pk and f.primary_key)]
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    if vendor == "postgresql":
        values = ", ".join(_postgresql_value(f, i) for i, f in enumerate(fields))
        source = "jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS r(v, n)"
    elif vendor == "sqlite":
        values = ", ".join(_sqlite_value(f, i) for i, f in enumerate(fields))
        source = "(SELECT value AS v, key AS n FROM json_each(%s))"
    else:
        raise NotImplementedError(f"insert_rows supports PostgreSQL and SQLite, not {vendor}")
    returns_pk = auto_pk and not ignore_conflicts
    returning = f" RETURNING {connection.ops.quote_name(model._meta.pk.column)}" if returns_pk else ""
    conflicts = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    # WHERE true: SQLite needs it to tell ON CONFLICT from a join's ON.
    sql = f"INSERT INTO {table} ({columns}) SELECT {values} FROM {source} WHERE true ORDER BY n{conflicts}{returning}"
    return [_value_of(f, vendor) for f in fields], sql, returns_pk


def _is_json(field: models.Field) -> bool:
    return isinstance(field, models.JSONField)


def _postgresql_value(field: models.Field, index: int) -> str:
    if _is_json(field):
        return f"NULLIF(v -> {index}, 'null'::jsonb)" if field.null else f"v -> {index}"
    # Text goes in as text, not varchar(n): an explicit cast to varchar(n) would cut an over-long value
    # silently, while assigning text to the column refuses it.
    kind = "text" if isinstance(field, models.CharField | models.TextField) else field.cast_db_type(connection)
    return f"(v ->> {index})::{kind}"


def _sqlite_value(field: models.Field, index: int) -> str:
    if _is_json(field):
        return f"NULLIF(v -> '$[{index}]', 'null')" if field.null else f"v -> '$[{index}]'"
    return f"v ->> '$[{index}]'"
