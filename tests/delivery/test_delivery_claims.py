"""Claiming and recording in batches: one statement each, with the same rules as one delivery at a time."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard.delivery import attempts, leases
from dashboard.delivery.policy import Outcome
from dashboard.models import Delivery, DeliveryAttempt, Event
from tests.delivery_harness import make_rule_with_target, publish

pytestmark = pytest.mark.django_db(transaction=True)
State = Delivery.State


def _ids() -> list:
    return list(Delivery.objects.order_by("event_id").values_list("id", flat=True))


def _succeeded(delivery: Delivery, token: str) -> attempts.Finished:
    outcome = Outcome(started_at=timezone.now(), succeeded=True, status_code=200, request_headers={"X-Team": "shop"})
    return attempts.Finished(delivery, token, outcome, worker="w1")


def test_claim_leases_due_deliveries_with_their_events_as_stored():
    make_rule_with_target("http://example.com/hook")
    publish(3, note="žluťoučký kůň", nested={"list": [1, 2.5, None, True]})
    claim = leases.claim(_ids(), "t1")
    assert {d.id for d in claim.deliveries} == set(_ids())
    for delivery in claim.deliveries:
        assert delivery.event.envelope() == Event.objects.get(position=delivery.event_id).envelope()
        assert delivery.target.name == "t1"
        assert (delivery.state, delivery.lease_token, delivery.attempts) == (State.IN_FLIGHT, "t1", 1)
    assert set(Delivery.objects.values_list("state", "lease_token", "attempts")) == {(State.IN_FLIGHT, "t1", 1)}


def test_claim_passes_over_leased_finished_and_future_deliveries():
    make_rule_with_target("http://example.com/hook")
    publish(4)
    held, done, later, free = _ids()
    leases.claim([held], "other")
    Delivery.objects.filter(id=done).update(state=State.SUCCEEDED)
    Delivery.objects.filter(id=later).update(next_attempt_at=timezone.now() + timedelta(minutes=5))
    claim = leases.claim([held, done, later, free], "mine")
    assert [d.id for d in claim.deliveries] == [free]
    assert (claim.held_elsewhere, claim.abandoned) == ({held}, set())


def test_claim_reports_a_lease_that_ran_out_as_abandoned():
    make_rule_with_target("http://example.com/hook")
    publish(1)
    [delivery_id] = _ids()
    leases.claim([delivery_id], "dead worker")
    Delivery.objects.filter(id=delivery_id).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    claim = leases.claim([delivery_id], "mine")
    assert (claim.deliveries, claim.abandoned, claim.held_elsewhere) == ([], {delivery_id}, set())


def test_claim_of_an_ordered_group_takes_only_its_head():
    make_rule_with_target("http://example.com/hook", ordered_by="detail.customer")
    publish(3, customer="c1")
    first, second, third = _ids()
    claim = leases.claim([third, second, first], "t1")
    assert [d.id for d in claim.deliveries] == [first]


def test_recorded_batch_writes_one_attempt_each_and_succeeds_them():
    make_rule_with_target("http://example.com/hook")
    publish(3)
    claim = leases.claim(_ids(), "t1")
    attempts.record_attempts([_succeeded(d, "t1") for d in claim.deliveries])
    assert set(Delivery.objects.values_list("state", "lease_token", "last_status_code")) == {(State.SUCCEEDED, "", 200)}
    rows = DeliveryAttempt.objects.values_list("delivery_id", "number", "succeeded", "worker", "request_headers")
    assert sorted(rows) == sorted((i, 1, True, "w1", {"X-Team": "shop"}) for i in _ids())


def test_success_is_not_recorded_over_a_lease_another_worker_took_over():
    make_rule_with_target("http://example.com/hook")
    publish(2)
    claim = leases.claim(_ids(), "stale")
    taken, kept = claim.deliveries
    Delivery.objects.filter(id=taken.id).update(lease_token="newer")
    attempts.record_attempts([_succeeded(d, "stale") for d in claim.deliveries])
    assert Delivery.objects.get(id=taken.id).state == State.IN_FLIGHT
    assert Delivery.objects.get(id=kept.id).state == State.SUCCEEDED


def test_recording_the_same_attempt_twice_keeps_one_row():
    make_rule_with_target("http://example.com/hook")
    publish(1)
    [delivery] = leases.claim(_ids(), "t1").deliveries
    attempts.record_attempts([_succeeded(delivery, "t1")])
    attempts.record_attempts([_succeeded(delivery, "t1")])
    assert DeliveryAttempt.objects.count() == 1
