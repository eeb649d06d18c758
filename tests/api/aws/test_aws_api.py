"""The EventBridge-compatible endpoint, driven by boto3 and the AWS CLI against a live Daphne."""

import json
import os
import subprocess
import sys

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from dashboard.models import ApiKey, Event


@pytest.fixture
def credentials(transactional_db) -> tuple[str, str]:
    key, secret = ApiKey.issue("sdk", ["publish", "read"])
    return key.access_key_id, secret


def events_client(url: str, key_id: str, secret: str):
    return boto3.client(
        "events",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )


def test_boto3_put_events_stores_the_event(live_daphne, credentials):
    client = events_client(live_daphne, *credentials)
    answer = client.put_events(
        Entries=[{"Source": "shop.orders", "DetailType": "OrderCreated", "Detail": json.dumps({"total": 5})}]
    )
    assert answer["FailedEntryCount"] == 0
    stored = Event.objects.get(event_id=answer["Entries"][0]["EventId"])
    assert stored.detail == {"total": 5}


def test_boto3_partially_invalid_batch_reports_each_entry(live_daphne, credentials):
    client = events_client(live_daphne, *credentials)
    answer = client.put_events(
        Entries=[
            {"Source": "a", "DetailType": "ok", "Detail": "{}"},
            {"Source": "a", "DetailType": "broken", "Detail": "{not json"},
            {
                "Source": "a",
                "DetailType": "ok",
                "Detail": "{}",
                "EventBusName": "arn:aws:events:us-east-1:1:event-bus/orders",
            },
        ]
    )
    assert answer["FailedEntryCount"] == 1
    assert answer["Entries"][1]["ErrorCode"] == "MalformedDetail"
    assert sorted(Event.objects.values_list("bus", flat=True)) == ["default", "orders"]


def test_boto3_bad_signature_gets_the_aws_error(live_daphne, credentials):
    key_id, _ = credentials
    client = events_client(live_daphne, key_id, "not-the-secret")
    with pytest.raises(ClientError) as raised:
        client.put_events(Entries=[{"Source": "a", "DetailType": "b", "Detail": "{}"}])
    assert raised.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert Event.objects.count() == 0


def test_boto3_unknown_key_is_unrecognized(live_daphne, transactional_db):
    client = events_client(live_daphne, "EHNOSUCHKEY", "secret")
    with pytest.raises(ClientError) as raised:
        client.put_events(Entries=[{"Source": "a", "DetailType": "b", "Detail": "{}"}])
    assert raised.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_unknown_operation_is_an_aws_error_not_a_500(live_daphne, credentials):
    client = events_client(live_daphne, *credentials)
    with pytest.raises(ClientError) as raised:
        client.list_partner_event_sources(NamePrefix="aws.partner")
    assert raised.value.response["Error"]["Code"] == "UnknownOperationException"


def test_aws_cli_put_events(live_daphne, credentials):
    key_id, secret = credentials
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID=key_id,
        AWS_SECRET_ACCESS_KEY=secret,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
    )
    entries = json.dumps([{"Source": "cli", "DetailType": "Hello", "Detail": '{"from": "cli"}'}])
    result = subprocess.run(
        [sys.executable, "-m", "awscli", "events", "put-events", "--endpoint-url", live_daphne, "--entries", entries],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["FailedEntryCount"] == 0
    assert Event.objects.get().detail == {"from": "cli"}


def test_boto3_test_event_pattern_answers_the_verdict(live_daphne, credentials):
    client = events_client(live_daphne, *credentials)
    event = {
        "id": "1",
        "account": "123456789012",
        "source": "shop.orders",
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1",
        "detail-type": "OrderCreated",
        "resources": [],
        "detail": {"total": 1500},
    }
    pattern = {"source": ["shop.orders"], "detail": {"total": [{"numeric": [">=", 1000]}]}}
    assert client.test_event_pattern(EventPattern=json.dumps(pattern), Event=json.dumps(event))["Result"] is True
    pattern["detail"]["total"] = [{"numeric": [">", 2000]}]
    assert client.test_event_pattern(EventPattern=json.dumps(pattern), Event=json.dumps(event))["Result"] is False


def test_boto3_invalid_pattern_raises_invalid_event_pattern_exception(live_daphne, credentials):
    client = events_client(live_daphne, *credentials)
    with pytest.raises(ClientError) as raised:
        client.test_event_pattern(
            EventPattern=json.dumps({"detail": {"total": [{"numeric": [">", "ten"]}]}}),
            Event=json.dumps({"id": "1", "source": "a", "detail-type": "b", "detail": {}}),
        )
    assert raised.value.response["Error"]["Code"] == "InvalidEventPatternException"
    assert "detail.total" in raised.value.response["Error"]["Message"]
