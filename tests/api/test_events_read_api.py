"""GET /api/v1/events and /api/v1/events/<id>: newest first, filters, cursor pagination."""

from datetime import UTC, datetime, timedelta

import pytest

from dashboard.models import ApiKey, Event

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def store(n: int, **fields) -> None:
    Event.objects.bulk_create(
        Event(
            source=fields.get("source", "s"), detail_type=fields.get("detail_type", "t"), time=T0 + timedelta(seconds=i)
        )
        for i in range(n)
    )


def test_cursor_pagination_walks_a_thousand_events_newest_first(client, auth_header):
    store(1000)
    seen, cursor = [], None
    while True:
        params = {"limit": 300} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/events", params, **auth_header).json()
        seen += [e["position"] for e in page["events"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 1000
    assert seen == sorted(seen, reverse=True)


def test_filters_by_source_detail_type_and_time_window(client, auth_header):
    store(5, source="a")
    store(3, source="b", detail_type="x")
    by_source = client.get("/api/v1/events", {"source": "b"}, **auth_header).json()["events"]
    assert len(by_source) == 3
    by_type = client.get("/api/v1/events", {"detail-type": "x", "source": "a"}, **auth_header).json()["events"]
    assert by_type == []
    window = {"since": (T0 + timedelta(seconds=1)).isoformat(), "until": (T0 + timedelta(seconds=3)).isoformat()}
    assert len(client.get("/api/v1/events", window | {"source": "a"}, **auth_header).json()["events"]) == 2


def test_bad_parameters_are_400_not_500(client, auth_header):
    for params in ({"limit": "lots"}, {"limit": 0}, {"cursor": "-1"}, {"since": "yesterday"}):
        assert client.get("/api/v1/events", params, **auth_header).status_code == 400


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/events?bus=a%00b",
        "/api/v1/events/a%00b",
        "/api/v1/dead-letters?error=x%00",
        "/api/v1/shop/orders?x%00=1",
    ],
)
def test_a_nul_character_in_the_url_is_400_not_500(client, url):
    key, secret = ApiKey.issue("nul", ["publish", "read", "admin"])
    response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {key.access_key_id}:{secret}")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "InvalidRequest")


def test_event_by_id(client, auth_header):
    stored = Event.objects.create(source="s", detail_type="t", detail={"k": "v"}, time=T0)
    body = client.get(f"/api/v1/events/{stored.event_id}", **auth_header).json()
    assert body["detail"] == {"k": "v"}
    assert client.get("/api/v1/events/missing", **auth_header).status_code == 404


def test_openapi_description_is_served(client):
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert "/events" in spec["paths"]
