"""An event that cannot be routed within the matching budget is refused alone; the rest of its batch is stored."""

from functools import partial

import pytest

from dashboard.delivery.planning import routing_cache
from dashboard.ingest.publishing import publish_entries
from dashboard.models import Delivery, Event, Rule, Target
from dashboard.patterns import Budget, match

ORDERS_RULE = '{"detail": {"items": {"sku": ["A1"], "qty": [1]}}}'


@pytest.fixture
def tight_budget(monkeypatch):
    """Array-consistency checks get a budget that a few hundred array elements exhaust."""
    monkeypatch.setattr(match, "Budget", partial(Budget, steps=50))


@pytest.fixture
def orders_rule(db):
    rule = Rule.objects.create(name="orders", event_pattern=ORDERS_RULE)
    Target.objects.create(rule=rule, name="hook", kind=Target.Kind.WEBHOOK, url="https://example.com/hook")
    routing_cache.invalidate()
    return rule


def items_entry(count: int) -> dict:
    """Items that match the rule only in their last element, after `count` pairs that each match half of it."""
    items = [{"sku": "A1"}, {"qty": 1}] * count + [{"sku": "A1", "qty": 1}]
    return {"source": "shop", "detail-type": "OrderCreated", "detail": {"items": items}}


def test_an_event_over_the_matching_budget_is_an_entry_error_and_the_batch_is_stored(tight_budget, orders_rule):
    results = publish_entries([items_entry(1), items_entry(300), items_entry(2)])
    assert [result.error_code for result in results] == [None, "PatternTooComplex", None]
    assert "too complex to route" in results[1].error_message
    assert Event.objects.count() == 2
    assert Delivery.objects.filter(rule=orders_rule).count() == 2


def test_events_within_the_budget_are_stored_in_one_batch_as_before(orders_rule):
    results = publish_entries([items_entry(300), items_entry(2)])
    assert all(result.ok for result in results)
    assert Delivery.objects.filter(rule=orders_rule).count() == 2
