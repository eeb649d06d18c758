"""POST /api/v1/patterns/test: the verdict and the explainer's trace, or the validation message."""

import json

import pytest

pytestmark = pytest.mark.django_db

EVENT = {"source": "shop.orders", "detail-type": "OrderCreated", "detail": {"total": 1500, "country": "FR"}}


def post(client, auth_header, body):
    return client.post("/api/v1/patterns/test", json.dumps(body), content_type="application/json", **auth_header)


def test_matching_pattern_answers_true_with_a_trace(client, auth_header):
    pattern = {"detail": {"total": [{"numeric": [">=", 1000]}]}}
    body = post(client, auth_header, {"pattern": pattern, "event": EVENT}).json()
    assert body["result"] is True
    assert body["explanation"]["matched"] is True


def test_failing_pattern_names_the_first_failing_path(client, auth_header):
    pattern = {"detail": {"country": [{"anything-but": ["FR"]}]}}
    body = post(client, auth_header, {"pattern": pattern, "event": EVENT}).json()
    assert body["result"] is False
    assert "detail.country" in json.dumps(body["explanation"])


def test_invalid_pattern_is_400_with_the_path(client, auth_header):
    response = post(client, auth_header, {"pattern": {"detail": {"total": [{"numeric": [">"]}]}}, "event": EVENT})
    assert response.status_code == 400
    assert "detail.total" in response.json()["error"]["message"]


def test_missing_event_is_400(client, auth_header):
    assert post(client, auth_header, {"pattern": {}}).status_code == 400
