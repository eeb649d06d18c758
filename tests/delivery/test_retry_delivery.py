"""Retries against a real receiver, on a compressed clock: what is retried, when, and when it stops."""

import pytest

from dashboard.delivery import policy
from dashboard.delivery.redrive import dead_letters
from dashboard.models import Delivery, DeliveryAttempt
from tests.conftest import free_port
from tests.delivery_harness import Reply, make_rule_with_target, publish, running_dispatcher
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _finished() -> Delivery | None:
    return Delivery.objects.filter(state__in=Delivery.TERMINAL_STATES).first()


class _LongestJitter:
    """Full jitter always drawing its ceiling, so the gaps are the exponential schedule itself."""

    @staticmethod
    def uniform(low: float, high: float) -> float:
        return high


def test_server_errors_are_retried_with_exponential_gaps(fast, receiver, monkeypatch):
    monkeypatch.setattr(policy, "random", _LongestJitter)
    receiver.script("/hook", Reply(500), Reply(502), Reply(503), Reply(200))
    make_rule_with_target(receiver.url("/hook"))
    publish()
    with running_dispatcher():
        delivery = wait_until(_finished, message="the delivery to finish")
    arrivals = [r.at for r in receiver.requests("/hook")]
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:], strict=False)]
    base = fast["RETRY_BASE_SECONDS"]
    assert (delivery.state, delivery.attempts, len(arrivals)) == (Delivery.State.SUCCEEDED, 4, 4)
    for n, gap in enumerate(gaps):
        assert base * 2**n <= gap < base * 2**n + 1.0, gaps  # never early; late only by processing


def test_webhook_id_is_the_same_on_every_retry(fast, receiver):
    receiver.script("/hook", Reply(500), Reply(500), Reply(200))
    make_rule_with_target(receiver.url("/hook"))
    publish()
    with running_dispatcher():
        wait_until(_finished, message="the delivery to finish")
    assert receiver.ids("/hook") == [Delivery.objects.get().webhook_id] * 3


def test_429_waits_for_retry_after(fast, receiver):
    receiver.script("/hook", Reply(429, headers={"Retry-After": "1"}), Reply(200))
    make_rule_with_target(receiver.url("/hook"))
    publish()
    with running_dispatcher():
        wait_until(_finished, message="the delivery to finish")
    first, second = receiver.requests("/hook")
    assert second.at - first.at >= 1.0
    assert Delivery.objects.get().state == Delivery.State.SUCCEEDED


def test_client_error_goes_straight_to_dead_with_the_reason(fast, receiver):
    receiver.script("/hook", Reply(404, body=b"no such hook"))
    make_rule_with_target(receiver.url("/hook"))
    publish()
    with running_dispatcher():
        delivery = wait_until(_finished, message="the delivery to finish")
    assert (delivery.state, delivery.dead_reason, delivery.last_status_code) == ("dead", "non_retriable_status", 404)
    assert len(receiver.requests("/hook")) == 1
    assert DeliveryAttempt.objects.get().response_excerpt == "no such hook"


def test_redirect_is_not_followed(fast, receiver):
    receiver.script("/hook", Reply(302, headers={"Location": receiver.url("/elsewhere")}))
    make_rule_with_target(receiver.url("/hook"))
    publish()
    with running_dispatcher():
        delivery = wait_until(_finished, message="the delivery to finish")
    assert (delivery.state, delivery.dead_reason, delivery.last_status_code) == ("dead", "redirect_not_followed", 302)
    assert receiver.requests("/elsewhere") == []


def test_timeout_is_retried(fast, receiver):
    receiver.script("/hook", Reply(200, delay=2.0), Reply(200))
    make_rule_with_target(receiver.url("/hook"), timeout_seconds=0.3)
    publish()
    with running_dispatcher():
        delivery = wait_until(_finished, message="the delivery to finish")
    first, second = DeliveryAttempt.objects.order_by("number")
    assert first.error == "timed out after 0.3 s" and first.status_code is None
    assert 250 <= first.duration_ms < 1500
    assert second.succeeded and delivery.state == Delivery.State.SUCCEEDED


def test_connection_refused_is_retried(fast, receiver):
    closed = f"http://127.0.0.1:{free_port()}/hook"
    make_rule_with_target(closed, maximum_retry_attempts=1)
    publish()
    with running_dispatcher():
        delivery = wait_until(_finished, message="the delivery to finish")
    assert (delivery.state, delivery.attempts, delivery.dead_reason) == ("dead", 2, "maximum_retry_attempts")
    assert "cannot connect to 127.0.0.1" in delivery.last_error


def test_exhausted_retries_end_dead_with_every_attempt_kept(fast, receiver):
    receiver.script("/hook", Reply(503))
    make_rule_with_target(receiver.url("/hook"), maximum_retry_attempts=2)
    publish()
    with running_dispatcher():
        delivery = wait_until(_finished, message="the delivery to finish")
    assert (delivery.state, delivery.dead_reason, delivery.attempts) == ("dead", "maximum_retry_attempts", 3)
    assert list(DeliveryAttempt.objects.values_list("number", "status_code")) == [(1, 503), (2, 503), (3, 503)]
    assert len(receiver.requests("/hook")) == 3


def test_without_dead_letter_queue_an_exhausted_delivery_is_not_listed_as_a_dead_letter(fast, receiver):
    receiver.script("/hook", Reply(503))
    make_rule_with_target(receiver.url("/hook"), maximum_retry_attempts=0, dead_letter_enabled=False)
    publish()
    with running_dispatcher():
        delivery = wait_until(_finished, message="the delivery to finish")
    assert (delivery.state, delivery.dead_lettered) == ("dead", False)
    assert not dead_letters().exists()
