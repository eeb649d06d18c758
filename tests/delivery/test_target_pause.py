"""A target that keeps failing is paused: its deliveries wait instead of being dead-lettered, one probe
at a time tests it, and the first success resumes it (T13). Operators can pause and resume by hand."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from dashboard.delivery import pausing
from dashboard.delivery.transport import stream_key
from dashboard.models import Delivery, DeliveryAttempt, Target
from tests.delivery_harness import Reply, make_rule_with_target, publish, running_dispatcher
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)
State = Delivery.State


def attempts(target: Target, *statuses: int | None) -> None:
    """Attempts to the target just now, one per status (None: no answer, as a timeout)."""
    publish(1)
    delivery = Delivery.objects.filter(target=target).first()
    now = timezone.now()
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(
            delivery=delivery,
            target=target,
            round=n,
            number=1,
            started_at=now,
            succeeded=status is not None and status < 300,
            status_code=status,
        )
        for n, status in enumerate(statuses)
    )


def test_a_target_failing_every_attempt_is_paused_with_the_reason():
    target = make_rule_with_target("http://127.0.0.1:9/hook", pause_min_attempts=3)
    attempts(target, 500, 503, None)
    assert pausing.pause_failing_targets([target.pk]) == [target.pk]
    target.refresh_from_db()
    assert target.is_paused and target.paused_reason == "3 of 3 attempts failed in the last 300 s"


def test_a_target_with_fewer_attempts_than_the_minimum_is_not_paused():
    target = make_rule_with_target("http://127.0.0.1:9/hook", pause_min_attempts=4)
    attempts(target, 500, 500, 500)
    assert pausing.pause_failing_targets([target.pk]) == []


def test_a_target_below_its_failure_ratio_is_not_paused():
    target = make_rule_with_target("http://127.0.0.1:9/hook", pause_min_attempts=4, pause_failure_ratio=0.75)
    attempts(target, 500, 500, 200, 200)
    assert pausing.pause_failing_targets([target.pk]) == []
    attempts(target, 500, 500, 500, 500)  # 6 of 8
    assert pausing.pause_failing_targets([target.pk]) == [target.pk]


def test_attempts_outside_the_window_do_not_count():
    target = make_rule_with_target("http://127.0.0.1:9/hook", pause_min_attempts=2, pause_window_seconds=60)
    attempts(target, 500, 500)
    DeliveryAttempt.objects.update(started_at=timezone.now() - timedelta(seconds=61))
    assert pausing.pause_failing_targets([target.pk]) == []


def test_answers_that_say_the_request_was_wrong_do_not_pause():
    target = make_rule_with_target("http://127.0.0.1:9/hook", pause_min_attempts=2)
    attempts(target, 400, 404)
    assert pausing.pause_failing_targets([target.pk]) == []


def test_a_throttling_target_is_not_paused():
    target = make_rule_with_target("http://127.0.0.1:9/hook", pause_min_attempts=2)
    attempts(target, 429, 429, 429)
    assert pausing.pause_failing_targets([target.pk]) == []


def claimed_delivery(token: str = "t1") -> Delivery:
    """A delivery to the target, claimed by a worker (leased with `token`)."""
    publish(1)
    delivery = Delivery.objects.order_by("-created_at").first()
    Delivery.objects.filter(pk=delivery.pk).update(state=State.IN_FLIGHT, lease_token=token, attempts=1)
    delivery.refresh_from_db()
    return delivery


def test_a_paused_target_lets_one_probe_through_per_interval():
    target = make_rule_with_target("http://127.0.0.1:9/hook")
    pausing.pause_target(target.pk, "paused by test")
    Target.objects.filter(pk=target.pk).update(next_probe_at=timezone.now())
    assert pausing.wait_for_probe(claimed_delivery("t1"), "t1") is None  # this one is the probe
    assert pausing.wait_for_probe(claimed_delivery("t2"), "t2") > timezone.now()  # the next one waits


def test_a_delivery_waiting_for_a_probe_goes_back_untried_and_says_why():
    target = make_rule_with_target("http://127.0.0.1:9/hook")
    pausing.pause_target(target.pk, "paused by test")
    delivery = claimed_delivery()
    due = pausing.wait_for_probe(delivery, "t1")
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.next_attempt_at) == (State.PENDING, 0, due)
    assert delivery.last_error == pausing.WAITING


def test_a_resumed_target_lets_every_delivery_through():
    target = make_rule_with_target("http://127.0.0.1:9/hook")
    pausing.pause_target(target.pk, "paused by test")
    pausing.resume_target(target.pk, "resumed by test")
    assert pausing.wait_for_probe(claimed_delivery(), "t1") is None


def test_resuming_hands_the_waiting_deliveries_over_at_once(redis):
    target = make_rule_with_target("http://127.0.0.1:9/hook")
    publish(2)
    redis.flushdb()
    Delivery.objects.update(
        state=State.RETRYING, next_attempt_at=timezone.now() + timedelta(hours=1), last_error=pausing.WAITING
    )
    pausing.pause_target(target.pk, "paused by alice")
    released = pausing.resume_target(target.pk, "resumed by alice")
    assert set(released) == set(Delivery.objects.values_list("id", flat=True))
    assert not Delivery.objects.filter(next_attempt_at__gt=timezone.now()).exists()
    assert redis.xlen(stream_key()) == 2
    target.refresh_from_db()
    assert (target.is_paused, target.resumed_reason) == (False, "resumed by alice")


def test_resuming_leaves_a_retry_inside_its_own_backoff_alone():
    target = make_rule_with_target("http://127.0.0.1:9/hook")
    publish(1)
    later = timezone.now() + timedelta(seconds=30)
    Delivery.objects.update(state=State.RETRYING, next_attempt_at=later, last_error="HTTP 429")
    pausing.pause_target(target.pk, "paused by alice")
    assert pausing.resume_target(target.pk, "resumed by alice") == []
    assert Delivery.objects.get().next_attempt_at == later


def test_pausing_a_paused_target_keeps_the_first_reason():
    target = make_rule_with_target("http://127.0.0.1:9/hook")
    assert pausing.pause_target(target.pk, "first")
    assert not pausing.pause_target(target.pk, "second")
    target.refresh_from_db()
    assert target.paused_reason == "first"


def test_a_failing_target_is_paused_then_resumed_by_a_probe_and_nothing_is_dead_lettered(fast, receiver, monkeypatch):
    monkeypatch.setattr(pausing, "PROBE_BASE_SECONDS", 0.2)
    target = make_rule_with_target(receiver.url(), pause_min_attempts=5)
    other = make_rule_with_target(receiver.url("/other"), name="r2", pattern={"source": ["shop.orders"]})
    receiver.script("/hook", Reply(500))
    publish(10)
    with running_dispatcher():
        wait_until(lambda: Target.objects.get(pk=target.pk).is_paused, message="the target to be paused")
        wait_until(lambda: len(receiver.requests("/other")) == 10, message="the other target to get everything")
        sent_while_paused = len(receiver.requests("/hook"))
        receiver.script("/hook", Reply(200))
        wait_until(
            lambda: Delivery.objects.filter(target=target, state=State.SUCCEEDED).count() == 10,
            timeout=30,
            message="every waiting delivery to be delivered after the target recovered",
        )
    target.refresh_from_db()
    assert not target.is_paused and target.resumed_reason.startswith("probe delivery msg_")
    assert not Delivery.objects.filter(state=State.DEAD).exists()
    assert sent_while_paused < 30  # waiting deliveries were not retried one by one while it was down
    assert other.pk


def test_operators_pause_and_resume_a_target_from_the_admin(client):
    client.force_login(User.objects.create_superuser("root", "root@example.com", "a long enough password 1"))
    target = make_rule_with_target("http://127.0.0.1:9/hook")
    changelist = reverse("admin:dashboard_target_changelist")
    client.post(changelist, {"action": "pause", "_selected_action": [target.pk]})
    target.refresh_from_db()
    assert (target.is_paused, target.paused_reason) == (True, "paused by root")
    client.post(changelist, {"action": "resume", "_selected_action": [target.pk]})
    target.refresh_from_db()
    assert (target.is_paused, target.resumed_reason) == (False, "resumed by root")
