"""OpenTelemetry spans, when tracing is on: publish, match, each delivery attempt and projection handling, each
in the producer's trace, and the webhook's traceparent naming the attempt so the receiver's span is its child."""

import json

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from dashboard.eventsourcing import projection_runner
from dashboard.ingest.publishing import publish_entries
from dashboard.models import Delivery, Event
from dashboard.observability import tracing
from dashboard.shop.orders import create_order
from tests.delivery_harness import Reply, make_rule_with_target, running_dispatcher
from tests.waiting import wait_until

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PRODUCER_SPAN_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PRODUCER_SPAN_ID}-01"


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    tracing.start_tracing(SimpleSpanProcessor(exporter))
    yield exporter
    tracing.stop_tracing()


def named(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.name == name]


def in_producer_trace(span: ReadableSpan) -> bool:
    """The span is a direct child of the producer's span, in its trace."""
    return (
        f"{span.context.trace_id:032x}" == TRACE_ID
        and span.parent is not None
        and f"{span.parent.span_id:016x}" == PRODUCER_SPAN_ID
    )


def publish_one(**extra) -> str:
    entry = {"source": "shop.orders", "detail-type": "OrderCreated", "detail": {"orderId": "o-1"}, **extra}
    [result] = publish_entries([entry])
    assert result.ok, result
    return result.event_id


def finished() -> bool:
    return Delivery.objects.filter(state__in=Delivery.TERMINAL_STATES).exists()


@pytest.mark.django_db
def test_a_publish_request_is_a_span_in_the_producers_trace(spans, client, auth_header):
    body = [{"source": "shop.orders", "detail-type": "OrderCreated", "detail": {}}] * 2
    response = client.post(
        "/api/v1/events",
        json.dumps(body),
        content_type="application/json",
        headers={"traceparent": TRACEPARENT},
        **auth_header,
    )
    assert response.status_code == 200, response.content
    [publish] = named(spans, "publish")
    assert in_producer_trace(publish)
    assert (publish.kind, publish.attributes["eventhub.entries"], publish.attributes["eventhub.bus"]) == (
        SpanKind.SERVER,
        2,
        "default",
    )


@pytest.mark.django_db
def test_matching_an_event_is_a_span_in_its_producers_trace(spans):
    make_rule_with_target("http://127.0.0.1:9/hook")
    event_id = publish_one(traceparent=TRACEPARENT)
    [match] = named(spans, "match")
    assert in_producer_trace(match)
    assert (match.attributes["eventhub.event_id"], match.attributes["eventhub.rules_matched"]) == (event_id, 1)


@pytest.mark.django_db(transaction=True)
def test_an_attempt_is_a_child_of_the_producer_and_the_parent_of_the_receiver(spans, fast, receiver):
    target = make_rule_with_target(receiver.url("/hook"))
    publish_one(traceparent=TRACEPARENT, tracestate="vendor=1")
    with running_dispatcher():
        wait_until(finished, message="the delivery")
    [attempt] = named(spans, f"deliver {target.name}")
    delivery = Delivery.objects.get()
    assert in_producer_trace(attempt)
    assert attempt.kind == SpanKind.CLIENT
    assert {key: attempt.attributes[key] for key in ("eventhub.target_id", "eventhub.delivery_id")} == {
        "eventhub.target_id": target.id,
        "eventhub.delivery_id": str(delivery.id),
    }
    assert (attempt.attributes["eventhub.attempt"], attempt.attributes["http.response.status_code"]) == (1, 200)
    assert attempt.attributes["eventhub.outcome"] == "succeeded"
    headers = receiver.requests("/hook")[0].headers
    assert headers["traceparent"] == f"00-{TRACE_ID}-{attempt.context.span_id:016x}-01"
    assert headers["tracestate"] == "vendor=1"


@pytest.mark.django_db(transaction=True)
def test_a_failed_attempt_span_says_why(spans, fast, receiver):
    target = make_rule_with_target(receiver.url("/hook"))
    receiver.script("/hook", Reply(status=400))
    publish_one(traceparent=TRACEPARENT)
    with running_dispatcher():
        wait_until(finished, message="the delivery")
    [attempt] = named(spans, f"deliver {target.name}")
    assert (attempt.attributes["http.response.status_code"], attempt.attributes["eventhub.outcome"]) == (400, "dead")
    assert attempt.status.status_code == StatusCode.ERROR


@pytest.mark.django_db(transaction=True)
def test_an_event_without_trace_context_starts_a_trace_the_receiver_joins(spans, fast, receiver):
    target = make_rule_with_target(receiver.url("/hook"))
    publish_one()
    with running_dispatcher():
        wait_until(finished, message="the delivery")
    [attempt] = named(spans, f"deliver {target.name}")
    assert attempt.parent is None
    _, trace_id, parent_id, _ = receiver.requests("/hook")[0].headers["traceparent"].split("-")
    assert (trace_id, parent_id) == (f"{attempt.context.trace_id:032x}", f"{attempt.context.span_id:016x}")


@pytest.mark.django_db(transaction=True)
def test_with_tracing_off_nothing_is_recorded_and_the_producers_context_is_passed_on(fast, receiver):
    exporter = InMemorySpanExporter()
    tracing.start_tracing(SimpleSpanProcessor(exporter))
    tracing.stop_tracing()
    make_rule_with_target(receiver.url("/hook"))
    publish_one(traceparent=TRACEPARENT, tracestate="vendor=1")
    with running_dispatcher():
        wait_until(finished, message="the delivery")
    assert Delivery.objects.get().state == Delivery.State.SUCCEEDED
    assert exporter.get_finished_spans() == ()
    headers = receiver.requests("/hook")[0].headers
    assert (headers["traceparent"], headers["tracestate"]) == (TRACEPARENT, "vendor=1")


@pytest.mark.django_db
def test_projecting_an_event_is_a_span_in_its_producers_trace(spans):
    create_order("ada", [{"sku": "tea", "quantity": 1, "price": 3}])
    event = Event.objects.get()
    Event.objects.filter(pk=event.pk).update(traceparent=TRACEPARENT)
    projection_runner.catch_up("order_views")
    [project] = named(spans, "project order_views")
    assert in_producer_trace(project)
    assert project.attributes["eventhub.event_id"] == event.event_id


@pytest.mark.django_db
def test_tracing_stays_off_unless_enabled(settings):
    settings.EVENTHUB = {**settings.EVENTHUB, "TRACING": False}
    tracing.start_from_settings("eventhub-test")
    assert not tracing.tracing_enabled()


@pytest.mark.django_db
def test_tracing_turns_on_when_enabled(settings, monkeypatch):
    settings.EVENTHUB = {**settings.EVENTHUB, "TRACING": True}
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    tracing.start_from_settings("eventhub-test")
    try:
        assert tracing.tracing_enabled()
    finally:
        tracing.stop_tracing()
