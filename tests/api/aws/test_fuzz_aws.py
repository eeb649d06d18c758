"""Property-based fuzzing of the EventBridge (AWS JSON 1.1) endpoint with correctly signed requests.

Whatever the body, the answer is a documented AWS error type or a PutEvents result whose failed entries
carry documented error codes: never a 5xx, never an undocumented shape.
"""

import json

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dashboard.models import ApiKey

pytestmark = pytest.mark.django_db

DOCUMENTED_ERRORS = {
    "ValidationException",
    "SerializationException",
    "UnknownOperationException",
    "AccessDeniedException",
    "InvalidEventPatternException",
    "RequestEntityTooLarge",
}
DOCUMENTED_ENTRY_ERRORS = {"InvalidArgument", "MalformedDetail", "EntryTooLarge"}
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))

text = st.text(max_size=20)
scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False) | text
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(text, children, max_size=3),
    max_leaves=12,
)
entry_keys = st.sampled_from(
    ["Source", "DetailType", "Detail", "EventBusName", "Resources", "Time", "TraceHeader", "x"]
)
entries = st.dictionaries(entry_keys, json_values | text, max_size=6)
# Entries that pass the envelope checks, so the fuzzed values reach storage (text, numbers, times).
plausible_entries = st.fixed_dictionaries(
    {"Source": text.filter(bool), "DetailType": text.filter(bool)},
    optional={
        "Detail": st.dictionaries(text, json_values, max_size=3).map(json.dumps),
        "Time": st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | text,
        "Resources": st.lists(text, max_size=2),
    },
)
# A plausible entry with one member replaced by any JSON value: the wrong types reach the type checks.
retyped_entries = st.tuples(plausible_entries, entry_keys, json_values).map(lambda t: t[0] | {t[1]: t[2]})
put_events_bodies = st.fixed_dictionaries({"Entries": st.lists(entries | plausible_entries, max_size=12) | json_values})
pattern_bodies = st.fixed_dictionaries({"EventPattern": text | json_values, "Event": text | json_values})
targets = st.sampled_from(["AWSEvents.PutEvents", "AWSEvents.TestEventPattern", "AWSEvents.ListRules", "Nope"])


@pytest.fixture
def signer(db):
    key, secret = ApiKey.issue("fuzz", ["publish", "read"])
    return SigV4Auth(Credentials(key.access_key_id, secret), "events", "us-east-1")


def signed_post(client, signer, target: str, body: bytes):
    request = AWSRequest(
        method="POST",
        url="http://testserver/",
        data=body,
        headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"},
    )
    signer.add_auth(request)
    headers = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in request.headers.items()}
    headers.pop("HTTP_CONTENT_TYPE", None)
    # CONTENT_TYPE explicitly too: the test client leaves it out when the body is empty.
    return client.post(
        "/",
        body,
        content_type="application/x-amz-json-1.1",
        CONTENT_TYPE="application/x-amz-json-1.1",
        HTTP_HOST="testserver",
        **headers,
    )


def assert_documented(response) -> None:
    assert response.status_code < 500, response.content[:500]
    answer = json.loads(response.content)
    if response.status_code >= 400:
        assert answer["__type"] in DOCUMENTED_ERRORS, answer
        return
    if "FailedEntryCount" in answer:
        failed = [e for e in answer["Entries"] if "ErrorCode" in e]
        assert answer["FailedEntryCount"] == len(failed)
        assert {e["ErrorCode"] for e in failed} <= DOCUMENTED_ENTRY_ERRORS, failed
    else:
        assert isinstance(answer["Result"], bool)


@SETTINGS
@given(targets, put_events_bodies | pattern_bodies | json_values)
def test_any_signed_json_body_gets_a_documented_answer(client, signer, target, body):
    assert_documented(signed_post(client, signer, target, json.dumps(body).encode()))


@SETTINGS
@given(targets, st.binary(max_size=300))
def test_any_signed_bytes_get_a_documented_answer(client, signer, target, body):
    assert_documented(signed_post(client, signer, target, body))


def has_aws_types(entry: dict) -> bool:
    """Every member present (not null) has the type the EventBridge API model gives it."""
    present = {name: value for name, value in entry.items() if value is not None}
    strings = ("Source", "DetailType", "Detail", "EventBusName", "TraceHeader")
    time = present.get("Time", "")
    resources = present.get("Resources", [])
    return (
        all(isinstance(present.get(name, ""), str) for name in strings)
        and (isinstance(time, str) or (isinstance(time, int | float) and not isinstance(time, bool)))
        and isinstance(resources, list)
        and all(isinstance(resource, str) for resource in resources)
    )


@SETTINGS
@given(st.lists(retyped_entries, min_size=1, max_size=10))
def test_an_entry_is_stored_only_when_every_member_has_its_aws_type(client, signer, batch):
    response = signed_post(client, signer, "AWSEvents.PutEvents", json.dumps({"Entries": batch}).encode())
    assert_documented(response)
    assume(response.status_code == 200)  # not when a lone surrogate made the body invalid JSON
    for entry, result in zip(batch, json.loads(response.content)["Entries"], strict=True):
        assert "EventId" not in result or has_aws_types(entry), (entry, result)
