"""POST /api/v1/patterns/test: the verdict and the explainer's trace, or the validation message."""

import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from django.test import Client
from django.urls import reverse

from dashboard.models import ApiKey
from tests.dashboard_support import make_viewer

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


def nested(depth: int) -> dict:
    pattern: dict = {"leaf": ["x"]}
    for _ in range(depth - 1):
        pattern = {"a": pattern}
    return pattern


def test_a_300_deep_pattern_is_a_json_400(client, auth_header):
    response = post(client, auth_header, {"pattern": nested(300), "event": EVENT})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidEventPattern"
    assert "deeper than 253 levels" in response.json()["error"]["message"]


def test_a_300_deep_event_is_a_json_400(client, auth_header):
    response = post(client, auth_header, {"pattern": {"source": ["x"]}, "event": nested(300)})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidRequest"


# 300 $or branches, each looking through 10,000 values: more work than one request may ask for.
TOO_COMPLEX = {
    "pattern": {"$or": [{"a": [number]} for number in range(300)]},
    "event": {"a": list(range(1000, 11_000))},
}


def test_evaluation_beyond_its_budget_is_400_pattern_too_complex(client, auth_header):
    response = post(client, auth_header, TOO_COMPLEX)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "PatternTooComplex"


def live_post(url: str, authorization: str, body: dict) -> tuple[int, dict, float]:
    started = time.perf_counter()
    request = urllib.request.Request(
        f"{url}/api/v1/patterns/test",
        data=json.dumps(body).encode(),
        headers={"Authorization": authorization, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, answer = response.status, json.load(response)
    except urllib.error.HTTPError as error:
        status, answer = error.code, json.load(error)
    return status, answer, time.perf_counter() - started


def slow_cross_product() -> dict:
    """150 $or branches over items that never hold both fields: about its whole budget of work."""
    branches = [{"i": {"s": ["A"], "q": [quantity]}} for quantity in range(1, 150)]
    return {"pattern": {"$or": branches}, "event": {"i": [{"s": "A"}, {"q": 1}] * 5000}}


def test_a_slow_evaluation_neither_blocks_the_event_loop_nor_runs_past_its_budget(live_daphne, bearer):
    quick = {"pattern": {"source": ["x"]}, "event": {"source": "x"}}
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(lambda: (*live_post(live_daphne, bearer, slow_cross_product()), time.perf_counter()))
        time.sleep(0.2)  # let the slow request reach its evaluation: there is no event to await from outside
        status, answer, _ = live_post(live_daphne, bearer, quick)
        quick_done = time.perf_counter()
        slow_status, slow_answer, slow_seconds, slow_done = slow.result()
    assert (status, answer["result"]) == (200, True)
    assert quick_done < slow_done, "the quick request waited for the slow one"
    assert slow_status == 400 and slow_answer["error"]["code"] == "PatternTooComplex"
    assert slow_seconds < 5


def test_aws_test_event_pattern_beyond_its_budget_is_an_aws_400(live_daphne, transactional_db):
    key, secret = ApiKey.issue("sdk", ["read"])
    client = boto3.client(
        "events",
        endpoint_url=live_daphne,
        region_name="us-east-1",
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )
    with pytest.raises(ClientError) as raised:
        client.test_event_pattern(
            EventPattern=json.dumps(TOO_COMPLEX["pattern"], separators=(",", ":")),
            Event=json.dumps(TOO_COMPLEX["event"]),
        )
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert raised.value.response["Error"]["Code"] == "InvalidEventPatternException"
    assert "too complex" in raised.value.response["Error"]["Message"]


def test_playground_answers_an_evaluation_beyond_its_budget_as_a_pattern_error():
    viewer = Client()
    viewer.force_login(make_viewer())
    response = viewer.post(
        reverse("dashboard:playground"),
        {
            "event": json.dumps(TOO_COMPLEX["event"]),
            "pattern": json.dumps(TOO_COMPLEX["pattern"], separators=(",", ":")),
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert b"Matching this event against the pattern" in response.content
