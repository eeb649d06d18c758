"""Which targets an event goes to. Each process keeps a compiled rule set per bus and reloads it
when rules or targets change (checked at most once a second), so edits reach every process quickly
without a restart. A change is seen through the tables' row counts and newest `updated_at`, so edits
go through `save()` (a queryset `update()` must set `updated_at` itself)."""

import threading
import time
from dataclasses import dataclass

from django.db.models import Count, Max

from dashboard.models import Delivery, Event, Rule, Target
from dashboard.observability import tracing
from dashboard.patterns import RuleSet, compile_pattern

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
    targets: dict[int, list[Target]]  # enabled targets of enabled rules, by rule id: where events go
    every_target: dict[int, Target]  # every target with its rule, by id: what workers deliver to


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
    every_target = {target.pk: target for target in Target.objects.select_related("rule")}
    for target in every_target.values():
        if target.enabled and target.rule.is_enabled:
            targets.setdefault(target.rule_id, []).append(target)
    return _Table(fingerprint, rule_sets, targets, every_target)


routing_cache = _RoutingCache()


def current_target(target_id: int | None) -> Target | None:
    """A target as it is now (at most a second old), with its rule; None if it was deleted.

    Workers take targets from here instead of joining them into every claim: a delivery needs the
    target's settings, and loading them per row costs more than the whole claim otherwise."""
    if target_id is None:
        return None
    target = routing_cache.table().every_target.get(target_id)
    if target is None:  # created after the last refresh, or deleted: look again now
        routing_cache.invalidate()
        target = routing_cache.table().every_target.get(target_id)
    return target


def plan_deliveries(events: list[Event], *, replay_name: str = "") -> list[Delivery]:
    """One unsaved Delivery per (event, enabled target of every matching rule).

    Raises PatternTooComplex when an event needs more matching work than a rule's budget allows."""
    table = routing_cache.table()
    planned = []
    for event in events:
        rule_set = table.rule_sets.get(event.bus)
        if rule_set is None:
            continue
        envelope = event.envelope()
        with tracing.event_span("match", event) as span:
            rule_ids = rule_set.matching(envelope)
            span.set_attribute("eventhub.rules_matched", len(rule_ids))
        for rule_id in rule_ids:
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


@dataclass(frozen=True)
class Backtest:
    """How many of the newest `sample` stored events on a bus a pattern matches, next to the saved one."""

    sample: int
    new_matches: int
    old_matches: int | None


def backtest_pattern(pattern: str, *, bus: str, saved_pattern: str | None = None, sample: int = 1000) -> Backtest:
    """Try a pattern (validated by the caller) on recent events before it is saved. Raises InvalidPattern."""
    new = compile_pattern(pattern)
    old = compile_pattern(saved_pattern) if saved_pattern else None
    envelopes = [event.envelope() for event in Event.objects.filter(bus=bus).order_by("-position")[:sample]]
    return Backtest(
        sample=len(envelopes),
        new_matches=sum(new.matches(e) for e in envelopes),
        old_matches=sum(old.matches(e) for e in envelopes) if old else None,
    )
