"""/api/v1/replays: preview (the confirmation count), start, progress, cancel; admin keys only."""

import json

import pytest

from dashboard.eventsourcing.replay import replay_step
from dashboard.models import ApiKey, Event
from dashboard.models.streams import Replay
from tests.dashboard_support import make_rule, make_target, publish

pytestmark = pytest.mark.django_db

WINDOW = {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"}


@pytest.fixture
def admin_header() -> dict:
    key, secret = ApiKey.issue("ops", ["admin"])
    return {"HTTP_AUTHORIZATION": f"Bearer {key.access_key_id}:{secret}"}


def post(client, url: str, body: dict, header: dict):
    return client.post(url, json.dumps(body), content_type="application/json", **header)


@pytest.fixture
def window_events():
    make_target(rule=make_rule())
    entries = [
        {"source": "shop.orders", "detail-type": kind, "detail": {}, "time": f"2026-01-01T0{n}:00:00Z"}
        for n, kind in enumerate(["OrderCreated", "OrderShipped", "OrderShipped"])
    ]
    return publish(*entries)


def test_preview_counts_events_and_deliveries(client, admin_header, window_events):
    body = post(
        client, "/api/v1/replays/preview", WINDOW | {"event_pattern": {"detail-type": ["OrderShipped"]}}, admin_header
    )
    counted = body.json()
    assert (counted["events"], counted["deliveries"]) == (2, 2)
    assert counted["position_ceiling"] == Event.objects.order_by("-position").first().position


def test_start_then_follow_the_replay_to_completion(client, admin_header, window_events):
    created = post(client, "/api/v1/replays", WINDOW | {"name": "again", "rate_per_second": 500}, admin_header)
    assert created.status_code == 201 and created.json()["state"] == "starting"
    replay_step(Replay.objects.get().pk)
    done = client.get("/api/v1/replays/again", **admin_header).json()
    assert (done["state"], done["events_replayed"], done["deliveries_created"]) == ("completed", 3, 3)
    assert [r["name"] for r in client.get("/api/v1/replays", **admin_header).json()["replays"]] == ["again"]


def test_cancel_a_running_replay_and_not_twice(client, admin_header, window_events):
    post(client, "/api/v1/replays", WINDOW | {"name": "slow", "rate_per_second": 0.1}, admin_header)
    assert client.post("/api/v1/replays/slow/cancel", **admin_header).json()["state"] == "cancelled"
    assert client.post("/api/v1/replays/slow/cancel", **admin_header).status_code == 409
    assert client.post("/api/v1/replays/none/cancel", **admin_header).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        WINDOW | {"name": "bad name"},
        WINDOW | {"name": "x", "rate_per_second": 0},
        WINDOW | {"name": "x", "rate_per_second": "fast"},
        WINDOW | {"name": "x", "event_pattern": {"source": "shop"}},
        {"name": "x", "start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"},
        {"name": "x"},
        WINDOW | {"name": "x", "target_ids": ["1"]},
    ],
)
def test_bad_replays_are_400(client, admin_header, body):
    response = post(client, "/api/v1/replays", body, admin_header)
    assert response.status_code == 400 and response.json()["error"]["code"] == "InvalidReplay"


def test_replays_need_the_admin_scope(client, auth_header):
    assert post(client, "/api/v1/replays", WINDOW | {"name": "x"}, auth_header).status_code == 403
    assert post(client, "/api/v1/replays/preview", WINDOW, auth_header).status_code == 403
