"""Every EventBridge request member is type-checked as AWS's API model declares it, through a live Daphne.

A request member of the wrong type fails the request (SerializationException); an entry member of the wrong
type fails only its entry (InvalidArgument, or MalformedDetail for Detail) and its neighbours are stored.
"""

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from dashboard.api.aws.endpoint import OPERATIONS, REQUEST_MEMBERS
from dashboard.models import ApiKey, Event

GOOD = {"Source": "types", "DetailType": "Probe", "Detail": '{"n": 1}'}
EVENT = {"id": "1", "source": "types", "detail-type": "Probe", "detail": {}}


@pytest.fixture
def credentials(transactional_db) -> Credentials:
    key, secret = ApiKey.issue("types", ["publish", "read"])
    return Credentials(key.access_key_id, secret)


def call(url: str, credentials: Credentials, params: object, operation: str = "PutEvents") -> tuple[int, dict]:
    """A correctly signed request with any JSON body, as an SDK without client-side validation would send."""
    body = json.dumps(params).encode()
    request = AWSRequest(
        method="POST",
        url=f"{url}/",
        data=body,
        headers={"X-Amz-Target": f"AWSEvents.{operation}", "Content-Type": "application/x-amz-json-1.1"},
    )
    SigV4Auth(credentials, "events", "us-east-1").add_auth(request)
    raw = urllib.request.Request(f"{url}/", data=body, headers=dict(request.headers.items()))
    try:
        with urllib.request.urlopen(raw, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_time_true_fails_its_entry_instead_of_storing_the_epoch(live_daphne, credentials):
    status, answer = call(live_daphne, credentials, {"Entries": [GOOD, GOOD | {"Time": True}]})
    assert status == 200
    assert answer["FailedEntryCount"] == 1
    assert answer["Entries"][1]["ErrorCode"] == "InvalidArgument"
    assert "Time" in answer["Entries"][1]["ErrorMessage"]
    assert Event.objects.get().time.year > 1970


def test_object_as_event_bus_name_fails_its_entry_instead_of_naming_a_bus(live_daphne, credentials):
    status, answer = call(live_daphne, credentials, {"Entries": [GOOD, GOOD | {"EventBusName": {"name": "orders"}}]})
    assert status == 200
    assert answer["Entries"][1]["ErrorCode"] == "InvalidArgument"
    assert list(Event.objects.values_list("bus", flat=True)) == ["default"]


@pytest.mark.parametrize(
    ("member", "value", "code"),
    [
        ("Time", False, "InvalidArgument"),
        ("Time", {"seconds": 1}, "InvalidArgument"),
        ("Time", [1700000000], "InvalidArgument"),
        ("Time", 1e300, "InvalidArgument"),
        ("EventBusName", 7, "InvalidArgument"),
        ("EventBusName", ["orders"], "InvalidArgument"),
        ("Source", 5, "InvalidArgument"),
        ("Source", ["types"], "InvalidArgument"),
        ("DetailType", True, "InvalidArgument"),
        ("TraceHeader", 1, "InvalidArgument"),
        ("Resources", "arn:aws:s3:::bucket", "InvalidArgument"),
        ("Resources", [1, 2], "InvalidArgument"),
        ("Resources", {"arn": "x"}, "InvalidArgument"),
        ("Detail", {"n": 1}, "MalformedDetail"),
        ("Detail", 5, "MalformedDetail"),
        ("Detail", '["not", "an", "object"]', "MalformedDetail"),
    ],
)
def test_entry_member_of_the_wrong_type_fails_only_that_entry(live_daphne, credentials, member, value, code):
    status, answer = call(live_daphne, credentials, {"Entries": [GOOD, GOOD | {member: value}, GOOD]})
    assert status == 200
    assert answer["FailedEntryCount"] == 1
    assert [entry.get("ErrorCode") for entry in answer["Entries"]] == [None, code, None]
    assert Event.objects.count() == 2


@pytest.mark.parametrize("entry", ["just a string", 5, ["Source", "types"], None])
def test_entry_that_is_not_an_object_fails_only_that_entry(live_daphne, credentials, entry):
    status, answer = call(live_daphne, credentials, {"Entries": [entry, GOOD]})
    assert status == 200
    assert [e.get("ErrorCode") for e in answer["Entries"]] == ["InvalidArgument", None]
    assert Event.objects.count() == 1


def test_null_members_count_as_absent(live_daphne, credentials):
    entry = GOOD | {"EventBusName": None, "Time": None, "Resources": None, "TraceHeader": None}
    status, answer = call(live_daphne, credentials, {"Entries": [entry], "EndpointId": None})
    assert (status, answer["FailedEntryCount"]) == (200, 0)
    assert Event.objects.get().bus == "default"


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("PutEvents", {"Entries": {"Source": "types"}}),
        ("PutEvents", {"Entries": "[]"}),
        ("PutEvents", {"Entries": [GOOD], "EndpointId": 12}),
        ("TestEventPattern", {"EventPattern": {"source": ["types"]}, "Event": json.dumps(EVENT)}),
        ("TestEventPattern", {"EventPattern": '{"source": ["types"]}', "Event": EVENT}),
    ],
)
def test_request_member_of_the_wrong_type_is_a_serialization_exception(live_daphne, credentials, operation, params):
    status, answer = call(live_daphne, credentials, params, operation)
    assert (status, answer["__type"]) == (400, "SerializationException")
    assert not Event.objects.exists()


@pytest.mark.parametrize("params", [{}, {"Entries": None}, {"Entries": []}])
def test_missing_or_empty_entries_is_a_validation_exception(live_daphne, credentials, params):
    status, answer = call(live_daphne, credentials, params)
    assert (status, answer["__type"]) == (400, "ValidationException")


@pytest.mark.parametrize("time", [1767225600, 1767225600.0, "2026-01-01T00:00:00Z"])
def test_time_as_epoch_seconds_or_iso_string_is_stored(live_daphne, credentials, time):
    status, answer = call(live_daphne, credentials, {"Entries": [GOOD | {"Time": time}]})
    assert (status, answer["FailedEntryCount"]) == (200, 0)
    assert Event.objects.get().time == datetime(2026, 1, 1, tzinfo=UTC)


def test_boto3_time_is_stored_as_sent(live_daphne, credentials):
    client = boto3.client(
        "events",
        endpoint_url=live_daphne,
        region_name="us-east-1",
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
        config=Config(retries={"max_attempts": 1}),
    )
    sent = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    answer = client.put_events(Entries=[GOOD | {"Time": sent, "Resources": ["arn:aws:s3:::bucket"]}])
    assert answer["FailedEntryCount"] == 0
    stored = Event.objects.get()
    assert (stored.time, stored.resources) == (sent, ["arn:aws:s3:::bucket"])


def test_every_operation_declares_the_types_of_its_members():
    assert REQUEST_MEMBERS.keys() == OPERATIONS.keys()
