"""The streams HTTP API: append with an expected version, read a stream, read the global log."""

import json
from datetime import UTC, datetime

import pytest

from dashboard.models import Event

pytestmark = pytest.mark.django_db

URL = "/api/v1/streams/Order/o-1"


def append(client, auth_header, events, expected="any", url=URL):
    body = {"expected_version": expected, "events": events}
    return client.post(f"{url}/events", json.dumps(body), content_type="application/json", **auth_header)


def created(n: int = 1) -> dict:
    return {"detail-type": "OrderCreated", "detail": {"n": n}}


def test_append_answers_versions_and_positions(client, auth_header):
    response = append(client, auth_header, [created(1), created(2)], expected="no_stream")
    assert response.status_code == 200
    body = response.json()
    assert (body["first_version"], body["last_version"]) == (1, 2)
    positions = [e["position"] for e in body["events"]]
    assert positions == sorted(positions)
    assert Event.objects.get(event_id=body["events"][0]["id"]).source == "Order"


def test_version_conflict_is_409_with_the_current_version_and_nothing_stored(client, auth_header):
    append(client, auth_header, [created(), created()])
    response = append(client, auth_header, [created(), created(), created()], expected=1)
    assert response.status_code == 409
    error = response.json()["error"]
    assert (error["code"], error["current_version"], error["expected_version"]) == ("WrongExpectedVersion", 2, 1)
    assert Event.objects.count() == 2


def test_one_bad_event_refuses_the_whole_append(client, auth_header):
    response = append(client, auth_header, [created(), {"detail-type": "OrderShipped", "detail": [1]}])
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("events[1]:")
    assert Event.objects.count() == 0


@pytest.mark.parametrize("expected", ["later", -2, True, 1.5])
def test_bad_expected_version_is_400(client, auth_header, expected):
    assert append(client, auth_header, [created()], expected=expected).status_code == 400


def test_bad_stream_name_is_400(client, auth_header):
    assert append(client, auth_header, [created()], url="/api/v1/streams/-bad/x").status_code == 400


def test_reading_needs_a_key(client):
    assert client.get(URL).status_code == 401


def test_read_from_version_pages_through_the_stream(client, auth_header):
    append(client, auth_header, [created(n) for n in range(5)])
    page = client.get(URL, {"from_version": 2, "limit": 2}, **auth_header).json()
    assert [e["version"] for e in page["events"]] == [2, 3]
    assert (page["version"], page["next_from_version"]) == (5, 4)
    last = client.get(URL, {"from_version": 4}, **auth_header).json()
    assert [e["detail"]["n"] for e in last["events"]] == [3, 4]
    assert last["next_from_version"] is None


def test_unknown_stream_is_404(client, auth_header):
    assert client.get("/api/v1/streams/Order/nobody", **auth_header).status_code == 404


def test_global_log_resumes_from_a_position(client, auth_header):
    append(client, auth_header, [created(n) for n in range(3)])
    append(client, auth_header, [created(9)], url="/api/v1/streams/Order/o-2")
    first = client.get("/api/v1/streams/$all", {"limit": 2}, **auth_header).json()
    rest = client.get("/api/v1/streams/$all", {"after": first["next_after"]}, **auth_header).json()
    positions = [e["position"] for e in first["events"] + rest["events"]]
    assert positions == sorted(positions) and len(positions) == 4
    assert rest["next_after"] == positions[-1]


def test_global_log_reads_one_event_type_since_a_time(client, auth_header):
    append(client, auth_header, [created(1), {"detail-type": "OrderShipped", "detail": {}}])
    Event.objects.create(source="old", detail_type="OrderShipped", time=datetime(2020, 1, 1, tzinfo=UTC))
    params = {"detail-type": "OrderShipped", "since": "2025-01-01T00:00:00+00:00"}
    page = client.get("/api/v1/streams/$all", params, **auth_header).json()
    assert [e["detail-type"] for e in page["events"]] == ["OrderShipped"]
    assert page["events"][0]["aggregate_id"] == "o-1"


def test_stream_append_is_documented_in_openapi(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "/streams/{aggregate_type}/{aggregate_id}/events" in paths
    assert "/streams/$all" in paths


def test_global_log_reads_a_since_with_a_far_offset_in_utc(client, auth_header):
    response = client.get("/api/v1/streams/$all", {"since": "0547-05-13T16:34:51-17:56"}, **auth_header)
    assert response.status_code == 200


@pytest.mark.parametrize("params", [{"since": "0001-01-01T00:00:00+01:00"}, {"bus": "a\x00b"}, {"after": "-1"}])
def test_global_log_refuses_bad_parameters_with_400(client, auth_header, params):
    assert client.get("/api/v1/streams/$all", params, **auth_header).status_code == 400
