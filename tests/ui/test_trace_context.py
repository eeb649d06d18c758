"""W3C Trace Context on publish: the producer's traceparent is stored with its events and named on the event page."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from dashboard.models import Event
from tests.dashboard_support import make_viewer

pytestmark = pytest.mark.django_db

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


def publish(client, auth_header, body, **headers) -> Event:
    response = client.post(
        "/api/v1/events", json.dumps(body), content_type="application/json", headers=headers, **auth_header
    )
    assert response.status_code == 200, response.content
    return Event.objects.get(event_id=response.json()["entries"][0]["event_id"])


def entry(**extra) -> dict:
    return {"source": "shop.orders", "detail-type": "OrderCreated", "detail": {}} | extra


def test_the_request_traceparent_is_stored_with_each_event(client, auth_header):
    event = publish(client, auth_header, entry(), traceparent=TRACEPARENT, tracestate="vendor=1")
    assert (event.traceparent, event.tracestate, event.trace_id) == (TRACEPARENT, "vendor=1", TRACE_ID)


def test_an_entry_brings_its_own_traceparent(client, auth_header):
    own = "00-11111111111111111111111111111111-2222222222222222-01"
    event = publish(client, auth_header, entry(traceparent=own), traceparent=TRACEPARENT)
    assert event.traceparent == own


def test_an_invalid_traceparent_is_ignored_not_refused(client, auth_header):
    event = publish(client, auth_header, entry(), traceparent="00-zz-not-a-trace", tracestate="vendor=1")
    assert (event.traceparent, event.tracestate) == ("", "")


def test_an_event_without_trace_context_has_no_trace_id(client, auth_header):
    assert publish(client, auth_header, entry()).trace_id == ""


def test_the_event_page_shows_the_trace_id(client, auth_header):
    event = publish(client, auth_header, entry(), traceparent=TRACEPARENT)
    viewer = Client()
    viewer.force_login(make_viewer())
    page = viewer.get(reverse("dashboard:event-detail", args=[event.position])).content.decode()
    assert f">{TRACE_ID}</dd>" in page


def test_a_delivery_carries_the_stored_trace_context():
    from dashboard.observability.tracing import propagation_headers

    assert propagation_headers(TRACEPARENT, "vendor=1") == {"traceparent": TRACEPARENT, "tracestate": "vendor=1"}
    assert propagation_headers("", "") == {}
