"""Which targets an event goes to. Each process keeps a compiled rule set per bus and reloads it
when rules or targets change (checked at most once a second), so edits reach every process quickly
without a restart."""

import threading
import time
from dataclasses import dataclass

from django.db.models import Count, Max

from dashboard.models import Delivery, Event, Rule, Target
from dashboard.patterns import RuleSet

REFRESH_SECONDS = 1.0


def value_at(document: dict, path: str) -> object:
    """The value at a dotted path such as `detail.orderId`, or None."""
    node: object = document
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


@dataclass(frozen=True)
class _Table:
    fingerprint: tuple
    rule_sets: dict[str, RuleSet]
    targets: dict[int, list[Target]]


class _RoutingCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._table: _Table | None = None
        self._checked_at = 0.0

    def table(self) -> _Table:
        now = time.monotonic()
        if self._table is not None and now - self._checked_at < REFRESH_SECONDS:
            return self._table
        with self._lock:
            fingerprint = _fingerprint()
            if self._table is None or self._table.fingerprint != fingerprint:
                self._table = _build(fingerprint)
            self._checked_at = now
            return self._table

    def invalidate(self) -> None:
        self._checked_at = 0.0


def _fingerprint() -> tuple:
    rules = Rule.objects.aggregate(n=Count("id"), changed=Max("updated_at"))
    targets = Target.objects.aggregate(n=Count("id"), changed=Max("updated_at"))
    return (rules["n"], rules["changed"], targets["n"], targets["changed"])


def _build(fingerprint: tuple) -> _Table:
    rule_sets: dict[str, RuleSet] = {}
    for rule in Rule.objects.filter(state=Rule.State.ENABLED):
        rule_sets.setdefault(rule.bus, RuleSet()).add(rule.pk, rule.event_pattern)
    targets: dict[int, list[Target]] = {}
    for target in Target.objects.filter(enabled=True, rule__state=Rule.State.ENABLED).select_related("rule"):
        targets.setdefault(target.rule_id, []).append(target)
    return _Table(fingerprint, rule_sets, targets)


routing_cache = _RoutingCache()


def matching_rule_ids(event: Event) -> set[int]:
    rule_set = routing_cache.table().rule_sets.get(event.bus)
    return rule_set.matching(event.envelope()) if rule_set else set()


def plan_deliveries(events: list[Event], *, replay_name: str = "") -> list[Delivery]:
    """One unsaved Delivery per (event, enabled target of every matching rule)."""
    table = routing_cache.table()
    planned = []
    for event in events:
        rule_set = table.rule_sets.get(event.bus)
        if rule_set is None:
            continue
        envelope = event.envelope()
        for rule_id in rule_set.matching(envelope):
            for target in table.targets.get(rule_id, ()):
                order_key = value_at(envelope, target.ordered_by) if target.ordered_by else None
                planned.append(
                    Delivery(
                        event=event,
                        rule_id=rule_id,
                        target=target,
                        next_attempt_at=event.received_at,
                        order_key="" if order_key is None else str(order_key)[:256],
                        replay_name=replay_name,
                    )
                )
    return planned
