"""Set-up and inspection through the ORM, for a scenario process configured with `use_database(env)`.

Rules, targets and keys are created the way an operator would (model rows, through the same fields
the admin edits); the database view of the ledger reads Delivery rows back.
"""

import os
import time
from collections import Counter

import django


def use_database(env: dict) -> None:
    """Point this process's Django at the run's database and Redis, then set it up (once per process)."""
    for name in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DEBUG", "SECRET_KEY"):
        os.environ[name] = env[name]
    for name, value in env.items():
        if name.startswith("EVENTHUB_"):
            os.environ[name] = value
    django.setup()


def bearer_key(scopes: tuple[str, ...] = ("publish", "read")) -> str:
    from dashboard.models import ApiKey

    key, secret = ApiKey.issue("chaos", list(scopes))
    return f"Bearer {key.access_key_id}:{secret}"


def aws_key() -> tuple[str, str]:
    from dashboard.models import ApiKey

    key, secret = ApiKey.issue("chaos-aws", ["publish"])
    return key.access_key_id, secret


def route(name: str, targets: dict[str, dict], detail_type: str = "ChaosTick", bus: str = "default") -> dict[str, int]:
    """A rule matching `detail_type` with one target per entry of `targets` (name -> Target fields);
    returns target ids by name. Webhook targets need `url`."""
    from dashboard.models import Rule, Target

    rule = Rule.objects.create(bus=bus, name=name, event_pattern=f'{{"detail-type": ["{detail_type}"]}}')
    ids = {}
    for target_name, fields in targets.items():
        target = Target(rule=rule, name=target_name, **fields)
        target.full_clean()
        target.save()
        ids[target_name] = target.pk
    return ids


def route_python(name: str, handler: str, pattern: str) -> int:
    """A rule with `pattern` and one Python-handler target; returns the target id."""
    from dashboard.models import Rule, Target

    rule = Rule.objects.create(name=name, event_pattern=pattern)
    target = Target(rule=rule, name=name, kind=Target.Kind.PYTHON, handler=handler, timeout_seconds=5.0)
    target.full_clean()
    target.save()
    return target.pk


def delivery_states(event_prefix: str = "") -> Counter:
    from dashboard.models import Delivery

    rows = Delivery.objects.filter(event__event_id__startswith=event_prefix).values_list("state", flat=True)
    return Counter(rows)


def unfinished(event_prefix: str = "") -> int:
    from dashboard.models import Delivery

    return (
        Delivery.objects.filter(event__event_id__startswith=event_prefix, state__in=Delivery.ACTIVE_STATES)
        .only("id")
        .count()
    )


def dead_letters(target_names: dict[int, str]) -> list[tuple[str, str]]:
    """(event id, target name) of every dead delivery, for the ledger."""
    from dashboard.models import Delivery

    rows = Delivery.objects.filter(state=Delivery.State.DEAD).values_list("event__event_id", "target_id")
    return [(event_id, target_names.get(target_id, str(target_id))) for event_id, target_id in rows]


def dead_reasons(event_prefix: str = "", target_id: int | None = None) -> Counter:
    from dashboard.models import Delivery

    rows = Delivery.objects.filter(event__event_id__startswith=event_prefix, state=Delivery.State.DEAD)
    if target_id is not None:
        rows = rows.filter(target_id=target_id)
    return Counter(rows.values_list("dead_reason", flat=True))


def stored_event_ids(event_ids: list[str]) -> set[str]:
    from dashboard.models import Event

    found: set[str] = set()
    for start in range(0, len(event_ids), 5000):
        chunk = event_ids[start : start + 5000]
        found |= set(Event.objects.filter(event_id__in=chunk).values_list("event_id", flat=True))
    return found


def delivery_rows_per_event(event_prefix: str) -> Counter:
    """How many Delivery rows each event has (the DB view: exactly one per matching target)."""
    from dashboard.models import Delivery

    rows = Delivery.objects.filter(event__event_id__startswith=event_prefix).values_list("event__event_id", "target_id")
    return Counter(rows)


def reconnect(attempts: int = 20) -> int:
    """After a database restart: drop broken pooled connections until a query works; returns the failures."""
    from django.db import OperationalError, connection

    for failures in range(attempts):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            return failures
        except OperationalError:
            close_connections()
            time.sleep(0.25)
    raise OperationalError(f"database still unreachable after {attempts} tries")


def close_connections() -> None:
    from django.db import connections

    connections.close_all()
