"""Factories for the dashboard's tests: people with and without the operator role, rules, events.

Small keyword-argument functions rather than fixtures, so each test says what it needs.
"""

from django.contrib.auth.models import Group, User

from dashboard.delivery.planning import routing_cache
from dashboard.ingest.publishing import publish_entries
from dashboard.models import Delivery, Rule, Target
from dashboard.ui.roles import OPERATORS_GROUP, ensure_operator_group
from tests.delivery_harness import kill_delivery

PASSWORD = "correct-horse-battery-staple"


def make_viewer(*, username: str = "viewer") -> User:
    """Signed in, no permissions: may look, may not change anything."""
    return User.objects.create_user(username=username, password=PASSWORD)


def make_operator(*, username: str = "operator") -> User:
    """A member of the operators group, which carries the redrive/purge permission."""
    user = User.objects.create_user(username=username, password=PASSWORD)
    ensure_operator_group()
    user.groups.add(Group.objects.get(name=OPERATORS_GROUP))
    return user


def make_rule(*, name: str = "orders", pattern: str = '{"source": ["shop.orders"]}', bus: str = "default") -> Rule:
    return Rule.objects.create(name=name, event_pattern=pattern, bus=bus)


def make_target(*, rule: Rule, name: str = "hook", url: str = "http://127.0.0.1:9/hook", **fields) -> Target:
    return Target.objects.create(rule=rule, name=name, url=url, **fields)


def publish(*entries: dict) -> list[str]:
    """Publish through the one way in; returns the new event ids.

    The routing cache is per process and trusts itself for a second; rules made (or rolled back) by
    the tests change faster than that, so it is told to look again.
    """
    routing_cache.invalidate()
    results = publish_entries(list(entries))
    assert all(result.ok for result in results), results
    return [result.event_id for result in results]


def order(total: float = 10, *, detail_type: str = "OrderCreated", **detail) -> dict:
    return {"source": "shop.orders", "detail-type": detail_type, "detail": {"total": total, **detail}}


def make_dead_letters(count: int = 1, *, target: Target | None = None, status: int | None = 503) -> list[Delivery]:
    """Dead letters for `target` (a fresh rule and target if none), as if their retries ran out."""
    target = target or make_target(rule=make_rule(name=f"rule-{Rule.objects.count()}"))
    event_ids = publish(*[order(n) for n in range(count)])
    fresh = list(Delivery.objects.filter(target=target, event__event_id__in=event_ids).select_related("target"))
    for delivery in fresh:
        kill_delivery(delivery, status=status, error=f"HTTP {status}" if status else "connection refused")
    return fresh
