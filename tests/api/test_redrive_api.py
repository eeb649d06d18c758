"""/api/v1/dead-letters: list, inspect, dry-run, redrive and purge, for API keys with the admin scope."""

import json

import pytest

from dashboard.models import ApiKey, Delivery
from tests.delivery_harness import dead_letters_for, lane_rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_header() -> dict:
    key, secret = ApiKey.issue("ops", ["admin"])
    return {"HTTP_AUTHORIZATION": f"Bearer {key.access_key_id}:{secret}"}


def _post(client, path: str, body: object, headers: dict):
    return client.post(f"/api/v1/dead-letters/{path}", json.dumps(body), content_type="application/json", **headers)


def test_every_dead_letter_endpoint_needs_the_admin_scope(client, auth_header):
    assert client.get("/api/v1/dead-letters", **auth_header).status_code == 403
    for path in ("redrive", "dry-run", "purge"):
        response = _post(client, path, {"filter": {}}, auth_header)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "MissingScope"
    assert client.get("/api/v1/dead-letters").status_code == 401


def test_list_filters_and_pages(client, admin_header):
    first, second = lane_rule("r1"), lane_rule("r2")
    dead_letters_for(3, target=first)
    dead_letters_for(1, target=second, status=410)
    page = client.get("/api/v1/dead-letters", {"limit": 2}, **admin_header).json()
    rest = client.get("/api/v1/dead-letters", {"limit": 2, "cursor": page["next_cursor"]}, **admin_header).json()
    assert len(page["dead_letters"]) == 2 and len(rest["dead_letters"]) == 2 and rest["next_cursor"] is None
    only = client.get("/api/v1/dead-letters", {"status_code": 410}, **admin_header).json()["dead_letters"]
    assert [d["target_id"] for d in only] == [second.pk]


def test_one_dead_letter_shows_its_attempts(client, admin_header):
    [dead] = dead_letters_for()
    body = client.get(f"/api/v1/dead-letters/{dead.pk}", **admin_header).json()
    assert body["webhook_id"] == dead.webhook_id
    assert [a["status_code"] for a in body["attempt_log"]] == [503]
    assert client.get("/api/v1/dead-letters/nope", **admin_header).status_code == 404


def test_redrive_by_ids_records_the_api_key(client, admin_header):
    [dead] = dead_letters_for()
    response = _post(client, "redrive", {"ids": [str(dead.pk)]}, admin_header)
    again = _post(client, "redrive", {"ids": [str(dead.pk)]}, admin_header)
    assert response.json() == {"redriven": 1, "skipped": 0}
    assert again.json() == {"redriven": 0, "skipped": 1}
    dead.refresh_from_db()
    assert dead.state == Delivery.State.PENDING
    assert dead.redriven_by_name.startswith("api:EH")


def test_redrive_by_filter_with_a_rate(client, admin_header):
    first, second = lane_rule("r1"), lane_rule("r2")
    dead_letters_for(2, target=first)
    dead_letters_for(1, target=second)
    response = _post(client, "redrive", {"filter": {"rule_id": first.rule_id}, "rate": 10}, admin_header)
    assert response.json() == {"redriven": 2, "skipped": 0}
    assert Delivery.objects.filter(state="dead").count() == 1


def test_dry_run_returns_buckets_and_changes_nothing(client, admin_header):
    dead_letters_for(2)
    body = _post(client, "dry-run", {"filter": {}}, admin_header).json()
    assert body["total"] == 2 and body["buckets"]["target_still_failing"] == 2
    assert Delivery.objects.filter(state="dead").count() == 2


@pytest.mark.parametrize("path", ["dry-run", "redrive", "purge"])
def test_an_error_filter_with_a_nul_character_is_refused(client, admin_header, path):
    response = _post(client, path, {"filter": {"error": "boom\u0000"}}, admin_header)
    assert response.status_code == 400
    assert "NUL" in response.json()["error"]["message"]


def test_purge_by_filter(client, admin_header):
    dead_letters_for(2, error="HTTP 410")
    dead_letters_for(1, target=lane_rule("r2"))
    assert _post(client, "purge", {"filter": {"error": "410"}}, admin_header).json() == {"purged": 2}
    assert Delivery.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"ids": [], "filter": {}},
        {"ids": []},
        {"ids": ["not-a-uuid"]},
        {"filter": {"status_code": "five hundred"}},
        {"filter": {"since": "yesterday"}},
        {"filter": {"colour": "red"}},
        {"filter": {}, "rate": 0},
        {"filter": {}, "rate": "fast"},
        [1, 2],
    ],
)
def test_bad_requests_are_400(client, admin_header, body):
    response = _post(client, "redrive", body, admin_header)
    assert response.status_code == 400
    assert response.json()["error"]["code"]


def test_list_bad_parameters_are_400(client, admin_header):
    for params in ({"status_code": "x"}, {"since": "then"}, {"cursor": "zz"}, {"limit": 0}):
        assert client.get("/api/v1/dead-letters", params, **admin_header).status_code == 400


def test_redrive_is_post_only(client, admin_header):
    assert client.get("/api/v1/dead-letters/redrive", **admin_header).status_code == 405
