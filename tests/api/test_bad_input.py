"""Hand-made bad input through a real Daphne, on the native API and the EventBridge endpoint: each gets a
clear error (never a 5xx) and nothing is half-stored. Cases already covered through the test client in
test_publish_api.py / test_api_keys.py are repeated here only where the live fast path differs."""

import json
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from dashboard.models import ApiKey, Event


@pytest.fixture
def keys(transactional_db) -> dict:
    made = {}
    for name, scopes in (("writer", ["publish", "read"]), ("reader", ["read"]), ("revoked", ["publish"])):
        key, secret = ApiKey.issue(name, scopes)
        made[name] = (key.access_key_id, secret)
    ApiKey.objects.get(access_key_id=made["revoked"][0]).revoke()
    return made


def bearer(pair: tuple[str, str]) -> str:
    return f"Bearer {pair[0]}:{pair[1]}"


def post(
    url: str,
    body: bytes,
    authorization: str | None,
    content_type: str = "application/json",
    query: str = "",
    path: str = "/api/v1/events",
):
    headers = {"Content-Type": content_type} | ({"Authorization": authorization} if authorization else {})
    request = urllib.request.Request(f"{url}{path}{query}", data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def entry(**overrides) -> dict:
    return {"source": "bad.input", "detail-type": "Probe", "detail": {"n": 1}} | overrides


# -- native API, live ---------------------------------------------------------------------------------


def test_live_300_kb_entry_is_refused_alone_with_entry_too_large(live_daphne, keys):
    body = json.dumps([entry(), entry(detail={"blob": "x" * 300_000})]).encode()
    status, answer = post(live_daphne, body, bearer(keys["writer"]))
    assert status == 200
    assert answer["failed_entry_count"] == 1
    assert answer["entries"][1]["error_code"] == "EntryTooLarge"
    assert Event.objects.count() == 1


def test_live_2000_level_nesting_is_a_400(live_daphne, keys):
    nested = "[" * 2000 + "]" * 2000
    body = f'{{"source": "a", "detail-type": "b", "detail": {{"x": {nested}}}}}'.encode()
    status, answer = post(live_daphne, body, bearer(keys["writer"]))
    assert status == 400
    assert answer["error"]["code"] == "InvalidJson"


def arrays(depth: int) -> str:
    return "[" * depth + "]" * depth


# orjson parses up to 1,024 levels but serialises only up to 254. Bodies nesting 255 to 1,024 levels in all
# once answered 500: the entry's size was measured by serialising it, before its depth was checked.
ORJSON_GAP = [255, 500, 1024]


@pytest.mark.parametrize("depth", ORJSON_GAP)
def test_live_nesting_orjson_parses_but_cannot_serialise_is_an_entry_error(live_daphne, keys, depth):
    body = f'{{"source": "a", "detail-type": "b", "detail": {{"x": {arrays(depth - 2)}}}}}'.encode()
    status, answer = post(live_daphne, body, bearer(keys["writer"]))
    assert status == 400
    assert answer["entries"][0]["error_code"] == "InvalidArgument"
    assert "nests deeper than 64 levels" in answer["entries"][0]["error_message"]
    assert Event.objects.count() == 0


@pytest.mark.parametrize("depth", [255, 500, 1022])  # the entry's depth: the body adds two levels
def test_live_stream_append_nesting_orjson_cannot_serialise_is_a_400(live_daphne, keys, depth):
    body = f'{{"events": [{{"detail-type": "b", "detail": {{"x": {arrays(depth - 2)}}}}}]}}'.encode()
    status, answer = post(live_daphne, body, bearer(keys["writer"]), path="/api/v1/streams/Order/o-1/events")
    assert status == 400
    assert answer["error"]["code"] == "InvalidArgument"
    assert "events[0]: entry nests deeper than 64 levels" in answer["error"]["message"]
    assert Event.objects.count() == 0


def test_live_invalid_utf8_is_a_400(live_daphne, keys):
    status, answer = post(live_daphne, b'{"source": "\xff\xfe", "detail-type": "b"}', bearer(keys["writer"]))
    assert status == 400
    assert answer["error"]["code"] == "InvalidJson"


def test_live_form_encoded_body_is_a_415(live_daphne, keys):
    status, answer = post(live_daphne, b"source=a", bearer(keys["writer"]), "application/x-www-form-urlencoded")
    assert (status, answer["error"]["code"]) == (415, "UnsupportedMediaType")


def test_live_batch_of_eleven_is_refused_whole(live_daphne, keys):
    status, answer = post(live_daphne, json.dumps([entry()] * 11).encode(), bearer(keys["writer"]))
    assert (status, answer["error"]["code"]) == (400, "TooManyEntries")
    assert Event.objects.count() == 0


def test_live_batch_with_one_bad_entry_of_ten_answers_in_request_order(live_daphne, keys):
    batch = [entry(detail={"n": n}) for n in range(10)]
    batch[6] = entry(detail="not an object")
    status, answer = post(live_daphne, json.dumps(batch).encode(), bearer(keys["writer"]))
    assert status == 200
    assert answer["failed_entry_count"] == 1
    assert [("error_code" in e) for e in answer["entries"]] == [n == 6 for n in range(10)]
    assert answer["entries"][6]["error_code"] == "MalformedDetail"
    assert sorted(e.detail["n"] for e in Event.objects.all()) == [0, 1, 2, 3, 4, 5, 7, 8, 9]


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [(None, 401, "MissingApiKey"), ("reader", 403, "MissingScope"), ("revoked", 403, "RevokedApiKey")],
)
def test_live_key_problems_are_refused_with_their_code(live_daphne, keys, who, status, code):
    answer = post(live_daphne, json.dumps(entry()).encode(), bearer(keys[who]) if who else None)
    assert answer[0] == status
    assert answer[1]["error"]["code"] == code
    assert Event.objects.count() == 0


def test_live_key_in_the_query_string_is_refused_even_with_a_valid_header(live_daphne, keys):
    key_id, secret = keys["writer"]
    status, answer = post(
        live_daphne, json.dumps(entry()).encode(), bearer(keys["writer"]), query=f"?api_key={key_id}:{secret}"
    )
    assert (status, answer["error"]["code"]) == (400, "KeyInQueryString")
    assert Event.objects.count() == 0


# -- EventBridge endpoint, live -----------------------------------------------------------------------


def events_client(url: str, pair: tuple[str, str]):
    return boto3.client(
        "events",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=pair[0],
        aws_secret_access_key=pair[1],
        config=Config(retries={"max_attempts": 1}, parameter_validation=False),
    )


def aws_entry(**overrides) -> dict:
    return {"Source": "bad.input", "DetailType": "Probe", "Detail": '{"n": 1}'} | overrides


def signed_raw_post(url: str, pair: tuple[str, str], body: bytes, content_type: str = "application/x-amz-json-1.1"):
    request = AWSRequest(
        method="POST",
        url=f"{url}/",
        data=body,
        headers={"X-Amz-Target": "AWSEvents.PutEvents", "Content-Type": content_type},
    )
    SigV4Auth(Credentials(*pair), "events", "us-east-1").add_auth(request)
    raw = urllib.request.Request(f"{url}/", data=body, headers=dict(request.headers.items()))
    try:
        with urllib.request.urlopen(raw, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_aws_300_kb_entry_fails_alone_with_entry_too_large(live_daphne, keys):
    answer = events_client(live_daphne, keys["writer"]).put_events(
        Entries=[aws_entry(), aws_entry(Detail=json.dumps({"blob": "x" * 300_000}))]
    )
    assert answer["FailedEntryCount"] == 1
    assert answer["Entries"][1]["ErrorCode"] == "EntryTooLarge"
    assert Event.objects.count() == 1


def test_aws_2000_level_nested_detail_is_malformed_detail(live_daphne, keys):
    nested = '{"x": ' + "[" * 2000 + "]" * 2000 + "}"
    answer = events_client(live_daphne, keys["writer"]).put_events(Entries=[aws_entry(Detail=nested)])
    assert answer["Entries"][0]["ErrorCode"] == "MalformedDetail"
    assert Event.objects.count() == 0


@pytest.mark.parametrize("depth", ORJSON_GAP)
def test_aws_detail_nesting_orjson_cannot_serialise_is_an_entry_error(live_daphne, keys, depth):
    detail = f'{{"x": {arrays(depth - 2)}}}'  # with the entry around it, `depth` levels in all
    status, answer = signed_raw_post(
        live_daphne, keys["writer"], json.dumps({"Entries": [aws_entry(Detail=detail)]}).encode()
    )
    assert status == 200
    assert answer["FailedEntryCount"] == 1
    assert answer["Entries"][0]["ErrorCode"] == "InvalidArgument"
    assert Event.objects.count() == 0


def test_aws_invalid_utf8_body_is_a_serialization_exception(live_daphne, keys):
    status, answer = signed_raw_post(live_daphne, keys["writer"], b'{"Entries": [{"Source": "\xff"}]}')
    assert (status, answer["__type"]) == (400, "SerializationException")


def test_aws_batch_of_eleven_is_a_validation_exception(live_daphne, keys):
    with pytest.raises(ClientError) as raised:
        events_client(live_daphne, keys["writer"]).put_events(Entries=[aws_entry()] * 11)
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert Event.objects.count() == 0


def test_aws_batch_with_one_bad_entry_of_ten_fails_only_that_entry(live_daphne, keys):
    entries = [aws_entry(Detail=json.dumps({"n": n})) for n in range(10)]
    entries[3] = aws_entry(Source="")
    answer = events_client(live_daphne, keys["writer"]).put_events(Entries=entries)
    assert answer["FailedEntryCount"] == 1
    assert [("ErrorCode" in e) for e in answer["Entries"]] == [n == 3 for n in range(10)]
    assert Event.objects.count() == 9


@pytest.mark.parametrize(
    ("who", "code"), [("reader", "AccessDeniedException"), ("revoked", "UnrecognizedClientException")]
)
def test_aws_key_problems_are_refused_with_their_aws_code(live_daphne, keys, who, code):
    with pytest.raises(ClientError) as raised:
        events_client(live_daphne, keys[who]).put_events(Entries=[aws_entry()])
    assert raised.value.response["Error"]["Code"] == code
    assert Event.objects.count() == 0


def test_aws_unsigned_request_is_missing_authentication(live_daphne, keys):
    request = urllib.request.Request(
        f"{live_daphne}/?X-Amz-Credential={keys['writer'][0]}",
        data=json.dumps({"Entries": [aws_entry()]}).encode(),
        headers={"X-Amz-Target": "AWSEvents.PutEvents", "Content-Type": "application/x-amz-json-1.1"},
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=30)
    assert raised.value.code == 400
    assert json.loads(raised.value.read())["__type"] == "MissingAuthenticationTokenException"
    assert Event.objects.count() == 0


# -- regressions: bugs fuzzing found (500s), fixed; these keep them fixed -----------------------------


def test_aws_numeric_time_out_of_range_is_an_entry_error_not_a_500(live_daphne, keys):
    status, answer = signed_raw_post(
        live_daphne, keys["writer"], json.dumps({"Entries": [aws_entry(Time=-62135596801)]}).encode()
    )
    assert status == 200
    assert answer["Entries"][0].get("ErrorCode") == "InvalidArgument" or Event.objects.exists()


def assert_stored_or_refused(status: int, answer: dict) -> None:
    """Either answer is fine (SQLite stores these, PostgreSQL cannot); a 5xx or a silent loss is not."""
    assert status < 500
    if status == 200:
        assert Event.objects.filter(event_id=answer["entries"][0]["event_id"]).exists()
    else:
        assert answer["entries"][0]["error_code"] == "InvalidArgument"


@pytest.mark.parametrize(
    "bad", [entry(source="a\u0000b"), entry(detail={"k": "a\u0000b"}), entry(detail={"\u0000": 1})]
)
def test_nul_character_is_stored_or_an_entry_error_never_a_500(live_daphne, keys, bad):
    assert_stored_or_refused(*post(live_daphne, json.dumps(bad).encode(), bearer(keys["writer"])))


def test_time_offset_beyond_postgresql_range_is_stored_or_an_entry_error_never_a_500(live_daphne, keys):
    body = json.dumps(entry(time="2026-01-01T00:00:00+20:00")).encode()
    assert_stored_or_refused(*post(live_daphne, body, bearer(keys["writer"])))


def test_huge_number_in_detail_does_not_break_listing(live_daphne, keys):
    status, _ = post(live_daphne, b'{"source": "a", "detail-type": "b", "detail": {"x": 1e20}}', bearer(keys["writer"]))
    assert status == 200
    request = urllib.request.Request(f"{live_daphne}/api/v1/events", headers={"Authorization": bearer(keys["writer"])})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert json.loads(response.read())["events"][0]["detail"]["x"] == 1e20


def test_since_filter_with_a_large_utc_offset_is_not_a_500(live_daphne, keys):
    request = urllib.request.Request(
        f"{live_daphne}/api/v1/events?since=2026-01-01T00:00:00%2B20:00",
        headers={"Authorization": bearer(keys["writer"])},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    assert status in (200, 400)
