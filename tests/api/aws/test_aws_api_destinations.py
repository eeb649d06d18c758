"""Connections and API destinations over the EventBridge API (boto3 against a live Daphne): webhooks the
EventBridge way, with the connection's authorization sent on every request and its secrets never shown."""

import json

import pytest
from botocore.exceptions import ClientError

from dashboard.models import Connection, DeliveryAttempt, Target
from tests.aws_support import client_for, live_server_for_module  # noqa: F401 - the `server` fixture
from tests.delivery_harness import running_dispatcher
from tests.waiting import wait_until

PATTERN = json.dumps({"source": ["shop"]})
API_KEY = {"ApiKeyAuthParameters": {"ApiKeyName": "X-Api-Key", "ApiKeyValue": "s3cret-value"}}
BASIC = {"BasicAuthParameters": {"Username": "shop", "Password": "pa55word"}}


@pytest.fixture
def events(server, transactional_db):
    return client_for(server, ["admin"])


def error_code(call, **params) -> str:
    with pytest.raises(ClientError) as raised:
        call(**params)
    return raised.value.response["Error"]["Code"]


def connect(events, name: str = "hooks", auth: dict = API_KEY, kind: str = "API_KEY") -> str:
    return events.create_connection(Name=name, AuthorizationType=kind, AuthParameters=auth)["ConnectionArn"]


def destination(events, connection_arn: str, url: str = "https://hooks.example.com/in", **extra) -> str:
    answer = events.create_api_destination(
        Name="receiver", ConnectionArn=connection_arn, InvocationEndpoint=url, HttpMethod="POST", **extra
    )
    return answer["ApiDestinationArn"]


def test_boto3_flow_delivers_events_with_the_connections_auth_header(events, fast, receiver):
    connection_arn = connect(events)
    destination_arn = destination(events, connection_arn, receiver.url("/hook"), InvocationRateLimitPerSecond=10)
    events.put_rule(Name="paid", EventPattern=PATTERN)
    events.put_targets(Rule="paid", Targets=[{"Id": "hook", "Arn": destination_arn}])
    published = events.put_events(Entries=[{"Source": "shop", "DetailType": "OrderPaid", "Detail": '{"n": 1}'}])
    with running_dispatcher():
        [request] = wait_until(lambda: receiver.requests("/hook"), message="the webhook")
    assert request.headers["X-Api-Key"] == "s3cret-value"
    assert request.json()["id"] == published["Entries"][0]["EventId"]


def test_a_connection_header_is_never_stored_with_the_attempt_whatever_its_name(events, fast, receiver):
    auth = {"ApiKeyAuthParameters": {"ApiKeyName": "X-Team", "ApiKeyValue": "s3cret-value"}}
    destination_arn = destination(events, connect(events, auth=auth), receiver.url("/hook"))
    events.put_rule(Name="paid", EventPattern=PATTERN)
    events.put_targets(Rule="paid", Targets=[{"Id": "hook", "Arn": destination_arn}])
    events.put_events(Entries=[{"Source": "shop", "DetailType": "OrderPaid", "Detail": '{"n": 1}'}])
    with running_dispatcher():
        wait_until(lambda: DeliveryAttempt.objects.exists(), message="an attempt")
    assert receiver.requests("/hook")[0].headers["X-Team"] == "s3cret-value"
    assert DeliveryAttempt.objects.get().request_headers["X-Team"] == "[redacted]"


def test_connection_is_described_without_its_secret(events):
    arn = connect(events)
    assert arn.startswith("arn:aws:events:local-1:000000000000:connection/hooks/")
    described = events.describe_connection(Name="hooks")
    assert described["AuthParameters"] == {"ApiKeyAuthParameters": {"ApiKeyName": "X-Api-Key"}}
    assert described["ConnectionState"] == "AUTHORIZED"
    assert "s3cret-value" not in json.dumps(described, default=str)
    assert Connection.objects.get().auth_parameters == API_KEY


def test_secret_invocation_header_is_sent_but_never_shown(events):
    headers = {"HeaderParameters": [{"Key": "X-Team", "Value": "hidden", "IsValueSecret": True}]}
    connect(events, auth=API_KEY | {"InvocationHttpParameters": headers})
    shown = events.describe_connection(Name="hooks")["AuthParameters"]["InvocationHttpParameters"]
    assert shown == {"HeaderParameters": [{"Key": "X-Team", "IsValueSecret": True}]}


def test_duplicate_connection_is_refused(events):
    connect(events)
    with pytest.raises(ClientError) as raised:
        connect(events)
    assert raised.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"


def test_missing_connection_is_not_found(events):
    assert error_code(events.describe_connection, Name="missing") == "ResourceNotFoundException"


def test_connection_without_its_parameters_is_refused(events):
    assert (
        error_code(events.create_connection, Name="hooks", AuthorizationType="BASIC", AuthParameters=API_KEY)
        == "ValidationException"
    )


def test_connections_are_listed_by_prefix(events):
    connect(events, "hooks-a")
    connect(events, "other", BASIC, "BASIC")
    listed = events.list_connections(NamePrefix="hooks")["Connections"]
    assert [(c["Name"], c["AuthorizationType"]) for c in listed] == [("hooks-a", "API_KEY")]


def test_api_destination_target_copies_endpoint_method_rate_and_auth(events):
    destination_arn = destination(events, connect(events, auth=BASIC, kind="BASIC"), InvocationRateLimitPerSecond=5)
    events.put_rule(Name="paid", EventPattern=PATTERN)
    events.put_targets(
        Rule="paid",
        Targets=[
            {
                "Id": "hook",
                "Arn": destination_arn,
                "HttpParameters": {"HeaderParameters": {"X-Shop": "eu"}, "QueryStringParameters": {"v": "2"}},
            }
        ],
    )
    target = Target.objects.get()
    assert (target.kind, target.url, target.method, target.rate_limit_per_second) == (
        Target.Kind.WEBHOOK,
        "https://hooks.example.com/in?v=2",
        "POST",
        5,
    )
    assert target.headers == {"X-Shop": "eu"}
    assert target.auth_headers == {"Authorization": "Basic c2hvcDpwYTU1d29yZA=="}
    assert events.list_targets_by_rule(Rule="paid")["Targets"][0]["Arn"] == destination_arn
    assert events.list_rule_names_by_target(TargetArn=destination_arn)["RuleNames"] == ["paid"]


def test_updating_the_connection_updates_its_targets(events):
    destination_arn = destination(events, connect(events))
    events.put_rule(Name="paid", EventPattern=PATTERN)
    events.put_targets(Rule="paid", Targets=[{"Id": "hook", "Arn": destination_arn}])
    new_key = {"ApiKeyAuthParameters": {"ApiKeyName": "X-Api-Key", "ApiKeyValue": "rotated"}}
    events.update_connection(Name="hooks", AuthParameters=new_key)
    assert Target.objects.get().auth_headers == {"X-Api-Key": "rotated"}


def test_updating_the_destination_updates_its_targets(events):
    destination_arn = destination(events, connect(events))
    events.put_rule(Name="paid", EventPattern=PATTERN)
    events.put_targets(Rule="paid", Targets=[{"Id": "hook", "Arn": destination_arn}])
    events.update_api_destination(Name="receiver", InvocationEndpoint="https://new.example.com/", HttpMethod="PUT")
    target = Target.objects.get()
    assert (target.url, target.method) == ("https://new.example.com/", "PUT")
    described = events.describe_api_destination(Name="receiver")
    assert (described["InvocationEndpoint"], described["HttpMethod"]) == ("https://new.example.com/", "PUT")


def test_destination_on_a_missing_connection_is_not_found(events):
    missing = "arn:aws:events:local-1:000000000000:connection/missing/00000000-0000-0000-0000-000000000000"
    assert (
        error_code(
            events.create_api_destination,
            Name="d",
            ConnectionArn=missing,
            InvocationEndpoint="https://x.example.com",
            HttpMethod="POST",
        )
        == "ResourceNotFoundException"
    )


def test_destination_method_without_a_body_is_refused(events):
    assert (
        error_code(
            events.create_api_destination,
            Name="d",
            ConnectionArn=connect(events),
            InvocationEndpoint="https://x.example.com",
            HttpMethod="GET",
        )
        == "ValidationException"
    )


def test_destinations_are_listed_by_connection(events):
    connection_arn = connect(events)
    destination(events, connection_arn)
    connect(events, "unused")
    listed = events.list_api_destinations(ConnectionArn=connection_arn)["ApiDestinations"]
    assert [(d["Name"], d["ConnectionArn"]) for d in listed] == [("receiver", connection_arn)]


def test_resources_in_use_cannot_be_deleted(events):
    connection_arn = connect(events)
    destination_arn = destination(events, connection_arn)
    events.put_rule(Name="paid", EventPattern=PATTERN)
    events.put_targets(Rule="paid", Targets=[{"Id": "hook", "Arn": destination_arn}])
    assert error_code(events.delete_connection, Name="hooks") == "ValidationException"
    assert error_code(events.delete_api_destination, Name="receiver") == "ValidationException"
    events.remove_targets(Rule="paid", Ids=["hook"])
    events.delete_api_destination(Name="receiver")
    events.delete_connection(Name="hooks")
    assert not Connection.objects.exists()


def test_target_naming_a_missing_destination_fails_that_target(events):
    events.put_rule(Name="paid", EventPattern=PATTERN)
    arn = "arn:aws:events:local-1:000000000000:api-destination/missing/00000000-0000-0000-0000-000000000000"
    answer = events.put_targets(Rule="paid", Targets=[{"Id": "hook", "Arn": arn}])
    assert answer["FailedEntries"][0]["ErrorCode"] == "ValidationException"


@pytest.mark.parametrize("name", ["X Key", "X-Key\r\nInjected", "X:Key"])
def test_connection_with_a_bad_header_name_is_refused(events, name):
    auth = {"ApiKeyAuthParameters": {"ApiKeyName": name, "ApiKeyValue": "v"}}
    assert error_code(events.create_connection, Name="hooks", AuthorizationType="API_KEY", AuthParameters=auth) == (
        "ValidationException"
    )


def test_target_header_with_a_line_break_fails_that_target(events):
    destination_arn = destination(events, connect(events))
    events.put_rule(Name="paid", EventPattern=PATTERN)
    answer = events.put_targets(
        Rule="paid",
        Targets=[
            {"Id": "hook", "Arn": destination_arn, "HttpParameters": {"HeaderParameters": {"X-A": "1\r\nX-B: 2"}}}
        ],
    )
    assert answer["FailedEntries"][0]["ErrorCode"] == "ValidationException"
