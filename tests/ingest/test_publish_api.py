"""POST /api/v1/events: the native publish API, its per-entry results and its refusals."""

import json

import pytest

from dashboard.models import Event

pytestmark = pytest.mark.django_db

URL = "/api/v1/events"


def event(**overrides) -> dict:
    return {"source": "shop.orders", "detail-type": "OrderCreated", "detail": {"total": 12}} | overrides


def post(client, body, auth_header, **extra):
    payload = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post(URL, payload, content_type=extra.pop("content_type", "application/json"), **auth_header, **extra)


def test_single_event_is_stored_and_its_id_returned(client, auth_header):
    response = post(client, event(), auth_header)
    assert response.status_code == 200
    body = response.json()
    assert body["failed_entry_count"] == 0
    stored = Event.objects.get(event_id=body["entries"][0]["event_id"])
    assert (stored.source, stored.detail_type, stored.detail) == ("shop.orders", "OrderCreated", {"total": 12})


def test_generated_ids_are_time_ordered_uuid7(client, auth_header):
    ids = [post(client, event(), auth_header).json()["entries"][0]["event_id"] for _ in range(3)]
    assert ids == sorted(ids)
    assert all(i[14] == "7" for i in ids)


def test_batch_answers_one_result_per_entry_in_order(client, auth_header):
    batch = [event(detail={"n": 1}), event(source=""), event(detail={"n": 3})]
    body = post(client, {"entries": batch}, auth_header).json()
    assert body["failed_entry_count"] == 1
    assert "event_id" in body["entries"][0] and "event_id" in body["entries"][2]
    assert body["entries"][1]["error_code"] == "InvalidArgument"
    assert '"source"' in body["entries"][1]["error_message"]
    assert Event.objects.count() == 2


def test_missing_detail_type_names_the_field(client, auth_header):
    response = post(client, {"source": "a"}, auth_header)
    assert response.status_code == 400
    assert "detail-type" in response.json()["entries"][0]["error_message"]


def test_detail_must_be_an_object(client, auth_header):
    response = post(client, event(detail=[1, 2]), auth_header)
    assert response.json()["entries"][0]["error_code"] == "MalformedDetail"


def test_supplied_id_makes_a_retry_idempotent(client, auth_header):
    first = post(client, event(id="order-42-created"), auth_header).json()
    again = post(client, event(id="order-42-created", detail={"total": 99}), auth_header).json()
    assert first["entries"] == again["entries"] == [{"event_id": "order-42-created"}]
    assert Event.objects.get().detail == {"total": 12}


def test_same_id_twice_in_one_batch_is_stored_once(client, auth_header):
    body = post(client, [event(id="dup"), event(id="dup")], auth_header).json()
    assert [e["event_id"] for e in body["entries"]] == ["dup", "dup"]
    assert Event.objects.count() == 1


def test_producer_time_is_kept_and_must_have_a_zone(client, auth_header):
    post(client, event(time="2026-01-31T12:00:00Z"), auth_header)
    assert Event.objects.get().time.isoformat() == "2026-01-31T12:00:00+00:00"
    naive = post(client, event(time="2026-01-31T12:00:00"), auth_header).json()
    assert "time zone" in naive["entries"][0]["error_message"]


def test_batch_of_eleven_is_refused_whole(client, auth_header):
    response = post(client, [event()] * 11, auth_header)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "TooManyEntries"
    assert Event.objects.count() == 0


def test_non_json_body_is_400(client, auth_header):
    response = post(client, b"{not json", auth_header)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidJson"


def test_invalid_utf8_is_400(client, auth_header):
    response = post(client, b'{"source": "\xff\xfe"}', auth_header)
    assert response.status_code == 400


def test_deeply_nested_json_is_refused_without_a_500(client, auth_header):
    nested = "[" * 2000 + "]" * 2000
    response = post(client, f'{{"source": "a", "detail-type": "b", "detail": {{"x": {nested}}}}}', auth_header)
    assert response.status_code == 400


def test_nesting_beyond_the_limit_is_a_per_entry_error(client, auth_header, settings):
    settings.EVENTHUB = settings.EVENTHUB | {"MAX_JSON_DEPTH": 5}
    deep = {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}
    body = post(client, event(detail=deep), auth_header).json()
    assert "deeper than 5" in body["entries"][0]["error_message"]


def test_wrong_content_type_is_415(client, auth_header):
    response = post(client, "source=a", auth_header, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


def test_oversize_body_is_413(client, auth_header):
    response = post(client, json.dumps(event(detail={"blob": "x" * 3_000_000})), auth_header)
    assert response.status_code == 413


def test_entry_over_the_size_limit_is_refused_alone(client, auth_header):
    big = event(detail={"blob": "x" * 300_000})
    body = post(client, [event(), big], auth_header).json()
    assert body["entries"][1]["error_code"] == "EntryTooLarge"
    assert Event.objects.count() == 1


def test_stored_events_cannot_be_changed():
    from dashboard.models.events import ImmutableRecord

    stored = Event.objects.create(source="a", detail_type="b", time="2026-01-01T00:00:00Z")
    stored.source = "changed"
    with pytest.raises(ImmutableRecord):
        stored.save()


def test_publish_works_without_a_csrf_token(api_key):
    from django.test import Client

    key, secret = api_key
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(
        URL,
        json.dumps(event()),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key.access_key_id}:{secret}",
    )
    assert response.status_code == 200
