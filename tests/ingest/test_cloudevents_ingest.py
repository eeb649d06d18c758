"""POST /api/v1/cloudevents: CloudEvents 1.0 in structured, binary and batched mode, sent with the SDK."""

import json
from datetime import UTC, datetime

import pytest
import requests
from cloudevents.core.bindings.http import to_binary_event, to_structured_event
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from dashboard.api.native.cloudevents import event_id_for
from dashboard.models import Event

pytestmark = pytest.mark.django_db

URL = "/api/v1/cloudevents"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def cloudevent(**attributes) -> CloudEvent:
    data = attributes.pop("data", {"orderId": "o-1", "total": 1200})
    base = {
        "id": "evt-1",
        "source": "/shop/orders",
        "type": "com.example.order.created",
        "time": datetime(2026, 12, 6, 12, 0, tzinfo=UTC),
    }
    return CloudEvent(base | attributes, data)


def post_structured(client, auth_header, event: CloudEvent):
    message = to_structured_event(event)
    return client.post(URL, message.body, content_type=message.headers["content-type"], **auth_header)


def post_binary(client, auth_header, event: CloudEvent):
    message = to_binary_event(event)
    headers = {name: value for name, value in message.headers.items() if name != "content-type"}
    content_type = message.headers.get("content-type", "application/json")
    return client.post(URL, message.body, content_type=content_type, headers=headers, **auth_header)


def post_batch(client, auth_header, *events: CloudEvent | dict):
    body = [json.loads(JSONFormat().write(e)) if isinstance(e, CloudEvent) else e for e in events]
    return client.post(URL, json.dumps(body), content_type="application/cloudevents-batch+json", **auth_header)


def test_structured_mode_maps_the_event_onto_the_envelope(client, auth_header):
    response = post_structured(client, auth_header, cloudevent(subject="orders/o-1", tenant="acme"))
    assert response.status_code == 200, response.content
    stored = Event.objects.get(event_id=response.json()["entries"][0]["event_id"])
    assert (stored.source, stored.detail_type) == ("/shop/orders", "com.example.order.created")
    assert stored.detail == {"orderId": "o-1", "total": 1200}
    assert stored.time == datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    assert stored.attributes == {"id": "evt-1", "subject": "orders/o-1", "tenant": "acme"}


def test_binary_mode_maps_the_event_onto_the_envelope(client, auth_header):
    response = post_binary(client, auth_header, cloudevent(subject="orders/o-1", tenant="acme"))
    assert response.status_code == 200, response.content
    stored = Event.objects.get(event_id=response.json()["entries"][0]["event_id"])
    assert (stored.source, stored.detail_type, stored.detail["total"]) == (
        "/shop/orders",
        "com.example.order.created",
        1200,
    )
    assert stored.attributes["subject"] == "orders/o-1"
    assert stored.attributes["tenant"] == "acme"


def test_batched_mode_answers_one_result_per_event_in_order(client, auth_header):
    missing_type = {"specversion": "1.0", "id": "evt-2", "source": "/shop/orders", "data": {}}
    response = post_batch(client, auth_header, cloudevent(id="evt-1"), missing_type, cloudevent(id="evt-3"))
    assert response.status_code == 200
    body = response.json()
    assert body["failed_entry_count"] == 1
    assert body["entries"][0]["event_id"] == event_id_for("/shop/orders", "evt-1")
    assert "type" in body["entries"][1]["error_message"]
    assert body["entries"][2]["event_id"] == event_id_for("/shop/orders", "evt-3")
    assert Event.objects.count() == 2


def test_a_retried_event_is_stored_once(client, auth_header):
    first = post_structured(client, auth_header, cloudevent()).json()
    again = post_binary(client, auth_header, cloudevent()).json()
    assert first["entries"] == again["entries"]
    assert Event.objects.count() == 1


def test_the_same_id_from_two_sources_is_two_events(client, auth_header):
    post_structured(client, auth_header, cloudevent(source="/shop/orders"))
    post_structured(client, auth_header, cloudevent(source="/shop/payments"))
    assert Event.objects.count() == 2


def test_the_trace_context_extension_is_stored_with_the_event(client, auth_header):
    event = cloudevent(traceparent=TRACEPARENT, tracestate="vendor=1")
    event_id = post_binary(client, auth_header, event).json()["entries"][0]["event_id"]
    stored = Event.objects.get(event_id=event_id)
    assert (stored.traceparent, stored.tracestate) == (TRACEPARENT, "vendor=1")
    assert "traceparent" not in stored.attributes


def test_data_that_is_not_a_json_object_is_a_malformed_detail(client, auth_header):
    response = post_structured(client, auth_header, cloudevent(data=[1, 2]))
    assert response.status_code == 400
    assert response.json()["entries"][0]["error_code"] == "MalformedDetail"


def test_a_binary_event_without_an_id_is_refused(client, auth_header):
    headers = {"ce-specversion": "1.0", "ce-source": "/s", "ce-type": "t"}
    response = client.post(URL, b"{}", content_type="application/json", headers=headers, **auth_header)
    assert response.status_code == 400
    assert "id" in response.json()["entries"][0]["error_message"]


def test_an_invalid_attribute_is_an_entry_error_not_a_crash(client, auth_header):
    bad = {"specversion": "1.0", "id": "e", "source": "/s", "type": "t", "time": "yesterday"}
    response = client.post(URL, json.dumps(bad), content_type="application/cloudevents+json", **auth_header)
    assert response.status_code == 400
    assert response.json()["entries"][0]["error_code"] == "InvalidArgument"


def test_a_plain_json_body_without_ce_headers_is_unsupported(client, auth_header):
    response = client.post(URL, "{}", content_type="application/json", **auth_header)
    assert response.status_code == 415


def test_a_batch_holds_at_most_the_native_limit(client, auth_header, settings):
    events = [cloudevent(id=f"e{n}") for n in range(settings.EVENTHUB["MAX_BATCH_ENTRIES"] + 1)]
    response = post_batch(client, auth_header, *events)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "TooManyEntries")


def test_publishing_needs_the_publish_scope(client):
    assert post_structured(client, {}, cloudevent()).status_code == 401


@pytest.mark.django_db(transaction=True)
def test_the_fast_path_stores_cloudevents_by_group_commit(live_daphne, bearer):
    message = to_binary_event(cloudevent(id="fast-1"))
    response = requests.post(
        f"{live_daphne}{URL}", data=message.body, headers=message.headers | {"Authorization": bearer}
    )
    assert response.status_code == 200, response.text
    metrics = requests.get(f"{live_daphne}/metrics", headers={"Authorization": bearer}).text
    assert "eventhub_group_commit_entries_count 1.0" in metrics
    assert Event.objects.filter(event_id=event_id_for("/shop/orders", "fast-1")).exists()


STRUCTURED_CE = "application/cloudevents+json"
BAD_REQUESTS = [
    (b"[]", STRUCTURED_CE, {}),
    (b"not json", STRUCTURED_CE, {}),
    (b"\xff\xfe", STRUCTURED_CE, {}),
    (b'{"specversion": "0.3", "id": "e", "source": "/s", "type": "t"}', STRUCTURED_CE, {}),
    (b'{"specversion": "1.0", "id": 5, "source": "/s", "type": "t"}', STRUCTURED_CE, {}),
    (b'{"specversion": "1.0", "id": "e", "source": "/s", "type": "t", "Bad-Name!": 1}', STRUCTURED_CE, {}),
    (b'{"specversion": "1.0", "id": "e", "source": "/s", "type": "t", "data_base64": "AAEC"}', STRUCTURED_CE, {}),
    (
        b'{"specversion": "1.0", "id": "e", "source": "/s", "type": "t", "data": ' + b"[" * 100 + b"]" * 100 + b"}",
        STRUCTURED_CE,
        {},
    ),
    (b"[1, null]", "application/cloudevents-batch+json", {}),
    (b"{}", "application/cloudevents-batch+json", {}),
    (
        b"{}",
        "application/json",
        {"ce-specversion": "1.0", "ce-id": "e", "ce-source": "/s", "ce-type": "t", "ce-time": "x"},
    ),
    (b"\xff", "application/json", {"ce-specversion": "1.0", "ce-id": "e", "ce-source": "/s", "ce-type": "t"}),
    (b"hello", "text/plain", {"ce-specversion": "1.0", "ce-id": "e", "ce-source": "/s", "ce-type": "t"}),
]


@pytest.mark.parametrize(("body", "content_type", "headers"), BAD_REQUESTS)
def test_bad_input_gets_a_clear_client_error(client, auth_header, body, content_type, headers):
    response = client.post(URL, body, content_type=content_type, headers=headers, **auth_header)
    assert 400 <= response.status_code < 500, response.content
    assert Event.objects.count() == 0


def test_the_read_api_gives_back_the_kept_attributes_and_trace(client, auth_header):
    event = cloudevent(subject="orders/o-1", traceparent=TRACEPARENT)
    event_id = post_structured(client, auth_header, event).json()["entries"][0]["event_id"]
    read = client.get(f"/api/v1/events/{event_id}", **auth_header).json()
    assert read["attributes"] == {"id": "evt-1", "subject": "orders/o-1"}
    assert read["traceparent"] == TRACEPARENT
