"""A matching event reaches its webhook once, signed, and the delivery's record says so."""

import time

import pytest

from dashboard.delivery import transport
from dashboard.delivery.handler_registry import eventhub_handler
from dashboard.delivery.planning import routing_cache
from dashboard.models import Delivery, DeliveryAttempt, Target
from dashboard.ui import broadcast
from tests.delivery_harness import Reply, make_rule_with_target, publish, running_dispatcher
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_matching_event_is_delivered_once_and_recorded(fast, receiver):
    make_rule_with_target(receiver.url("/hook"))
    [event_id] = publish()
    with running_dispatcher():
        wait_until(lambda: Delivery.objects.filter(state=Delivery.State.SUCCEEDED).exists(), message="success")
    delivery = Delivery.objects.get()
    assert receiver.ids("/hook") == [delivery.webhook_id]
    assert receiver.requests("/hook")[0].json()["id"] == event_id
    assert (delivery.attempts, delivery.last_status_code, delivery.completed_at is not None) == (1, 200, True)
    attempt = DeliveryAttempt.objects.get()
    assert (attempt.number, attempt.status_code, attempt.succeeded) == (1, 200, True)


def test_attempt_stores_request_headers_with_credentials_redacted(fast, receiver):
    make_rule_with_target(receiver.url("/hook"), headers={"Authorization": "Bearer s3cret", "X-Team": "shop"})
    publish()
    with running_dispatcher():
        wait_until(lambda: DeliveryAttempt.objects.exists(), message="an attempt")
    stored = DeliveryAttempt.objects.get().request_headers
    assert receiver.requests("/hook")[0].headers["Authorization"] == "Bearer s3cret"
    assert stored["Authorization"] == "[redacted]"
    assert stored["X-Team"] == "shop"
    assert "s3cret" not in str(stored)


def test_response_excerpt_is_capped(fast, receiver):
    receiver.script("/hook", Reply(200, body=b"x" * 100_000))
    make_rule_with_target(receiver.url("/hook"))
    publish()
    with running_dispatcher():
        wait_until(lambda: DeliveryAttempt.objects.exists(), message="an attempt")
    assert len(DeliveryAttempt.objects.get().response_excerpt) == fast["RESPONSE_EXCERPT_BYTES"]


def test_response_with_nul_bytes_is_recorded_with_them_replaced(fast, receiver):
    receiver.script("/hook", Reply(200, body=b"ok\x00done"))
    make_rule_with_target(receiver.url("/hook"))
    publish()
    with running_dispatcher():
        wait_until(lambda: Delivery.objects.filter(state=Delivery.State.SUCCEEDED).exists(), message="success")
    assert DeliveryAttempt.objects.get().response_excerpt == "ok\ufffddone"


def test_every_target_of_every_matching_rule_gets_the_event(fast, receiver):
    first = make_rule_with_target(receiver.url("/a"))
    Target.objects.create(rule=first.rule, name="t2", url=receiver.url("/b"))
    make_rule_with_target(receiver.url("/c"), name="r2", pattern={"detail-type": ["OrderCreated"]})
    make_rule_with_target(receiver.url("/never"), name="r3", pattern={"source": ["billing"]})
    publish()
    with running_dispatcher():
        wait_until(lambda: len(receiver.requests()) == 3, message="three deliveries")
    assert sorted(r.path for r in receiver.requests()) == ["/a", "/b", "/c"]


def test_input_path_sends_only_the_selected_part(fast, receiver):
    make_rule_with_target(receiver.url("/hook"), input_path="$.detail")
    publish(sku="A-1")
    with running_dispatcher():
        wait_until(lambda: receiver.requests("/hook"), message="a delivery")
    assert receiver.requests("/hook")[0].json() == {"n": 0, "sku": "A-1"}


def test_input_transformer_builds_the_body(fast, receiver):
    transformer = {
        "InputPathsMap": {"sku": "$.detail.sku"},
        "InputTemplate": '{"item": <sku>, "rule": "<aws.events.rule-name>"}',
    }
    make_rule_with_target(receiver.url("/hook"), input_transformer=transformer)
    publish(sku="A-1")
    with running_dispatcher():
        wait_until(lambda: receiver.requests("/hook"), message="a delivery")
    assert receiver.requests("/hook")[0].json() == {"item": "A-1", "rule": "r1"}


def test_python_target_is_called_with_the_event(fast):
    calls.clear()
    make_rule_with_target(kind=Target.Kind.PYTHON, handler="tests.delivery.test_delivery_basics.remember")
    [event_id] = publish()
    with running_dispatcher():
        wait_until(lambda: Delivery.objects.filter(state=Delivery.State.SUCCEEDED).exists(), message="success")
    assert [c["id"] for c in calls] == [event_id]


def test_python_target_exception_is_retried_with_its_last_line_recorded(fast):
    calls.clear()
    make_rule_with_target(kind=Target.Kind.PYTHON, handler="tests.delivery.test_delivery_basics.fail_once")
    publish()
    with running_dispatcher():
        wait_until(lambda: Delivery.objects.filter(state=Delivery.State.SUCCEEDED).exists(), message="success")
    first, second = DeliveryAttempt.objects.order_by("number")
    assert first.error == "RuntimeError: projection store is busy"
    assert second.succeeded


def test_delivery_to_a_deleted_target_is_dead_lettered(fast, receiver):
    target = make_rule_with_target(receiver.url("/hook"))
    publish()
    target.delete()
    with running_dispatcher():
        wait_until(lambda: Delivery.objects.filter(state=Delivery.State.DEAD).exists(), message="dead letter")
    assert Delivery.objects.get().dead_reason == Delivery.DeadReason.TARGET_DELETED
    assert receiver.requests() == []


def test_delivery_to_a_disabled_target_is_dead_lettered(fast, receiver):
    target = make_rule_with_target(receiver.url("/hook"))
    publish()
    target.enabled = False
    target.save()
    routing_cache.invalidate()  # as the next second would
    with running_dispatcher():
        wait_until(lambda: Delivery.objects.filter(state=Delivery.State.DEAD).exists(), message="dead letter")
    assert Delivery.objects.get().dead_reason == Delivery.DeadReason.TARGET_DISABLED
    assert receiver.requests() == []


def test_disabling_a_rule_stops_routing_within_a_second(fast, receiver):
    target = make_rule_with_target(receiver.url("/hook"))
    publish()
    assert Delivery.objects.count() == 1
    target.rule.state = target.rule.State.DISABLED
    target.rule.save()

    def routes_nothing() -> bool:
        before = Delivery.objects.count()
        publish()
        return Delivery.objects.count() == before

    wait_until(routes_nothing, timeout=1.5, message="routing to stop")


def test_target_edit_reaches_a_running_worker_without_restart(fast, receiver):
    target = make_rule_with_target(receiver.url("/old"))
    with running_dispatcher():
        publish()
        wait_until(lambda: receiver.requests("/old"), message="the first delivery")
        target.url = receiver.url("/new")
        target.save()
        edited = time.monotonic()

        def reaches_new_url() -> bool:
            publish()
            return bool(receiver.requests("/new"))

        wait_until(reaches_new_url, timeout=3, message="delivery to the edited URL")
    assert receiver.requests("/new")[0].at - edited < 2.0  # the worker re-reads targets every second


def test_worker_pushes_a_live_hint_after_recording(fast, receiver, monkeypatch):
    pushed = []
    monkeypatch.setattr(
        broadcast, "deliveries_changed", lambda deliveries: pushed.append([d.state for d in deliveries])
    )
    make_rule_with_target(receiver.url("/hook"))
    publish()
    with running_dispatcher():
        wait_until(lambda: pushed, message="a live hint")
    assert pushed[0] == [Delivery.State.SUCCEEDED]


calls: list = []


@eventhub_handler
def remember(event: dict) -> None:
    calls.append(event)


@eventhub_handler
def fail_once(event: dict) -> None:
    calls.append(event)
    if len(calls) == 1:
        raise RuntimeError("projection store is busy")


def test_sweeper_trims_acknowledged_entries_from_the_stream(fast, receiver, redis):
    make_rule_with_target(receiver.url("/hook"))
    publish(30)
    with running_dispatcher():
        wait_until(lambda: Delivery.objects.filter(state="succeeded").count() == 30, message="every delivery")
        wait_until(lambda: redis.xlen(transport.stream_key()) == 0, message="the stream to be trimmed")
