"""Deliveries in CloudEvents format: what a receiver parses with the CloudEvents SDK, in both modes."""

import json

import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_http_event

from dashboard.delivery.cloudevents import BINARY, STRUCTURED, delivery_request
from dashboard.models import Event
from tests.ingest.test_cloudevents_ingest import TRACEPARENT, cloudevent, post_structured

pytestmark = pytest.mark.django_db


def received(event: Event, payload_format: str, data: object):
    headers, body = delivery_request(event, payload_format, data)
    return headers, from_http_event(HTTPMessage(headers={k.lower(): v for k, v in headers.items()}, body=body))


def ingested(client, auth_header) -> Event:
    sent = cloudevent(subject="orders/o-1", tenant="acme", traceparent=TRACEPARENT)
    event_id = post_structured(client, auth_header, sent).json()["entries"][0]["event_id"]
    return Event.objects.get(event_id=event_id)


@pytest.mark.parametrize("payload_format", [STRUCTURED, BINARY])
def test_a_cloudevent_round_trips_through_ingest_and_delivery(client, auth_header, payload_format):
    event = ingested(client, auth_header)
    _, parsed = received(event, payload_format, event.detail)
    attributes = parsed.get_attributes()
    assert (parsed.get_id(), parsed.get_source(), parsed.get_type()) == (
        "evt-1",
        "/shop/orders",
        "com.example.order.created",
    )
    assert (attributes["subject"], attributes["tenant"], attributes["traceparent"]) == (
        "orders/o-1",
        "acme",
        TRACEPARENT,
    )
    assert parsed.get_time() == event.time
    assert parsed.get_data() == {"orderId": "o-1", "total": 1200}


def test_binary_mode_puts_the_attributes_in_ce_headers(client, auth_header):
    event = ingested(client, auth_header)
    headers, body = delivery_request(event, BINARY, event.detail)
    assert headers["ce-id"] == "evt-1"
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == event.detail


def test_structured_mode_sends_the_cloudevents_media_type(client, auth_header):
    event = ingested(client, auth_header)
    headers, _ = delivery_request(event, STRUCTURED, event.detail)
    assert headers["Content-Type"] == "application/cloudevents+json"


def test_a_native_event_is_delivered_under_its_event_id(client, auth_header):
    body = {"source": "shop.orders", "detail-type": "OrderCreated", "detail": {"n": 1}}
    event_id = client.post("/api/v1/events", body, content_type="application/json", **auth_header).json()["entries"][0][
        "event_id"
    ]
    event = Event.objects.get(event_id=event_id)
    _, parsed = received(event, STRUCTURED, event.detail)
    assert (parsed.get_id(), parsed.get_source(), parsed.get_type()) == (event_id, "shop.orders", "OrderCreated")


def test_a_transformed_input_becomes_the_data(client, auth_header):
    event = ingested(client, auth_header)
    assert received(event, BINARY, "order o-1 shipped")[1].get_data() == "order o-1 shipped"
    assert received(event, BINARY, [1, 2])[1].get_data() == [1, 2]
