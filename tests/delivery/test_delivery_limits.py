"""Per-target limits: a rate limit shared by all workers, and a cap on requests at once."""

import pytest

from dashboard.models import Delivery, DeliveryAttempt
from tests.delivery_harness import Reply, make_rule_with_target, publish, running_dispatcher
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _all_succeeded(count: int) -> bool:
    return Delivery.objects.filter(state=Delivery.State.SUCCEEDED).count() == count


def test_rate_limit_holds_across_the_batch(fast, receiver):
    make_rule_with_target(receiver.url("/hook"), rate_limit_per_second=5)
    publish(10)
    with running_dispatcher(concurrency=16):
        wait_until(lambda: _all_succeeded(10), message="every delivery")
    arrivals = sorted(r.at for r in receiver.requests("/hook"))
    # Slots are 0.2 s apart and never early; a late request can land close to the next one, so allow one
    # extra per second rather than checking each gap.
    busiest_second = max(sum(start <= t < start + 1.0 for t in arrivals) for start in arrivals)
    assert busiest_second <= 6, arrivals
    assert arrivals[-1] - arrivals[0] >= 1.7


def test_waiting_for_a_rate_limit_slot_is_not_an_attempt(fast, receiver):
    make_rule_with_target(receiver.url("/hook"), rate_limit_per_second=2)
    publish(6)  # the last slots are more than a second away: those deliveries wait in the delayed set
    with running_dispatcher(concurrency=16):
        wait_until(lambda: _all_succeeded(6), message="every delivery")
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}
    assert DeliveryAttempt.objects.count() == 6


def test_max_concurrency_caps_requests_at_once(fast, receiver):
    receiver.script("/hook", Reply(200, delay=0.2))
    make_rule_with_target(receiver.url("/hook"), max_concurrency=2)
    publish(8)
    with running_dispatcher(concurrency=16):
        wait_until(lambda: _all_succeeded(8), message="every delivery")
    assert receiver.max_in_flight["/hook"] == 2
