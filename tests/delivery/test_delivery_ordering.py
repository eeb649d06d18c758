"""Ordered targets: the same key goes out one at a time in event order; different keys in parallel."""

import pytest

from dashboard.ingest.publishing import publish_entries
from dashboard.models import Delivery
from tests.delivery_harness import Reply, make_rule_with_target, running_dispatcher
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)
DELAY = 0.2


def _publish_interleaved(keys: list[str], per_key: int) -> None:
    entries = [
        {"source": "shop.orders", "detail-type": "OrderChanged", "detail": {"orderId": key, "seq": seq}}
        for seq in range(per_key)
        for key in keys
    ]
    for start in range(0, len(entries), 10):
        assert all(r.ok for r in publish_entries(entries[start : start + 10]))


def _all_done() -> bool:
    return not Delivery.objects.filter(state__in=Delivery.ACTIVE_STATES).exists()


def _arrivals(receiver, key: str) -> list[tuple[int, float]]:
    return [
        (r.json()["detail"]["seq"], r.at) for r in receiver.requests("/hook") if r.json()["detail"]["orderId"] == key
    ]


def test_same_key_is_delivered_one_at_a_time_in_event_order(fast, receiver):
    receiver.script("/hook", Reply(200, delay=DELAY))
    make_rule_with_target(receiver.url("/hook"), ordered_by="detail.orderId")
    _publish_interleaved(["A", "B"], per_key=4)
    with running_dispatcher(concurrency=16):
        wait_until(_all_done, message="every delivery to finish")
    for key in ("A", "B"):
        arrivals = _arrivals(receiver, key)
        assert [seq for seq, _ in arrivals] == [0, 1, 2, 3]
        assert all(later - earlier >= DELAY for (_, earlier), (_, later) in zip(arrivals, arrivals[1:], strict=False))


def test_different_keys_proceed_in_parallel(fast, receiver):
    receiver.script("/hook", Reply(200, delay=1.0))
    make_rule_with_target(receiver.url("/hook"), ordered_by="detail.orderId")
    _publish_interleaved(["A", "B", "C"], per_key=2)
    with running_dispatcher(concurrency=16):
        wait_until(_all_done, message="every delivery to finish")
    assert receiver.max_in_flight["/hook"] == 3


def test_a_retrying_delivery_holds_back_the_rest_of_its_key(fast, receiver):
    receiver.script("/hook", Reply(500), Reply(500), Reply(200))
    make_rule_with_target(receiver.url("/hook"), ordered_by="detail.orderId")
    _publish_interleaved(["A"], per_key=3)
    with running_dispatcher():
        wait_until(_all_done, message="every delivery to finish")
    assert [seq for seq, _ in _arrivals(receiver, "A")] == [0, 0, 0, 1, 2]


def test_unordered_target_sends_the_same_key_concurrently(fast, receiver):
    receiver.script("/hook", Reply(200, delay=1.0))
    make_rule_with_target(receiver.url("/hook"))
    _publish_interleaved(["A"], per_key=4)
    with running_dispatcher(concurrency=16):
        wait_until(_all_done, message="every delivery to finish")
    assert receiver.max_in_flight["/hook"] == 4
