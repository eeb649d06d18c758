"""What a worker sends follows the open standards a receiver may rely on: the producer's W3C trace context,
CloudEvents when the target asks for it; and each outcome is counted in the Prometheus metrics."""

import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_http_event
from prometheus_client import REGISTRY

from dashboard.delivery.cloudevents import BINARY, STRUCTURED
from dashboard.ingest.publishing import publish_entries
from dashboard.models import Delivery
from tests.delivery_harness import make_rule_with_target, running_dispatcher
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def publish_one(**extra) -> str:
    entry = {"source": "shop.orders", "detail-type": "OrderCreated", "detail": {"orderId": "o-1"}, **extra}
    [result] = publish_entries([entry])
    assert result.ok, result
    return result.event_id


def delivered() -> bool:
    return Delivery.objects.filter(state=Delivery.State.SUCCEEDED).exists()


def test_a_delivery_carries_the_producers_trace_context(fast, receiver):
    make_rule_with_target(receiver.url("/hook"))
    publish_one(traceparent=TRACEPARENT, tracestate="vendor=1")
    with running_dispatcher():
        wait_until(delivered, message="success")
    headers = receiver.requests("/hook")[0].headers
    assert (headers["traceparent"], headers["tracestate"]) == (TRACEPARENT, "vendor=1")


def test_a_delivery_without_trace_context_sends_no_traceparent(fast, receiver):
    make_rule_with_target(receiver.url("/hook"))
    publish_one()
    with running_dispatcher():
        wait_until(delivered, message="success")
    assert "traceparent" not in receiver.requests("/hook")[0].headers


@pytest.mark.parametrize("payload_format", [STRUCTURED, BINARY])
def test_a_cloudevents_target_receives_a_cloudevent_of_the_detail(fast, receiver, payload_format):
    make_rule_with_target(receiver.url("/hook"), payload_format=payload_format)
    event_id = publish_one()
    with running_dispatcher():
        wait_until(delivered, message="success")
    request = receiver.requests("/hook")[0]
    cloudevent = from_http_event(HTTPMessage(headers=dict(request.headers), body=request.body))
    assert (cloudevent.get_id(), cloudevent.get_source(), cloudevent.get_type()) == (
        event_id,
        "shop.orders",
        "OrderCreated",
    )
    assert cloudevent.get_data() == {"orderId": "o-1"}
    assert "webhook-signature" in request.headers


def counted(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_successful_delivery_is_counted_with_its_attempt_and_latency(fast, receiver):
    target = make_rule_with_target(receiver.url("/hook"))
    labels = {"target_id": str(target.id)}
    before = counted("eventhub_deliveries_total", **labels, outcome="succeeded")
    publish_one()
    with running_dispatcher():
        wait_until(delivered, message="success")
    assert counted("eventhub_deliveries_total", **labels, outcome="succeeded") == before + 1
    assert counted("eventhub_delivery_attempt_duration_seconds_count", **labels, outcome="success") >= 1
    assert counted("eventhub_publish_to_delivery_seconds_count", **labels) >= 1
