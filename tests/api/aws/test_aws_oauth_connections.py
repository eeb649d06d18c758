"""OAuth client-credentials connections over the EventBridge API (boto3 against a live Daphne): the worker
exchanges the client ID and secret for a token at the authorization endpoint, sends it as a bearer token,
keeps it until it expires, replaces it when the target refuses it, and never shows or stores the secret."""

import base64
import json
from urllib.parse import parse_qs

import pytest
from botocore.exceptions import ClientError

from dashboard.models import ApiKey, Connection, Delivery, DeliveryAttempt
from tests.aws_support import client_for, live_server_for_module  # noqa: F401 - the `server` fixture
from tests.delivery_harness import Reply, running_dispatcher
from tests.waiting import wait_until

PATTERN = json.dumps({"source": ["shop"]})


@pytest.fixture
def events(server, transactional_db):
    return client_for(server, ["admin"])


def token_reply(token: str, expires_in: int = 3600) -> Reply:
    body = json.dumps({"access_token": token, "token_type": "Bearer", "expires_in": expires_in}).encode()
    return Reply(200, {"Content-Type": "application/json"}, body)


def oauth(endpoint: str, **extra) -> dict:
    return {
        "OAuthParameters": {
            "ClientParameters": {"ClientID": "shop-client", "ClientSecret": "client-s3cret"},
            "AuthorizationEndpoint": endpoint,
            "HttpMethod": "POST",
            **extra,
        }
    }


def connect(events, endpoint: str = "https://auth.example.com/token", **extra) -> str:
    answer = events.create_connection(
        Name="oauth", AuthorizationType="OAUTH_CLIENT_CREDENTIALS", AuthParameters=oauth(endpoint, **extra)
    )
    return answer["ConnectionArn"]


def wire(events, receiver, **extra) -> None:
    """Connection, API destination, rule and target, all with boto3."""
    connection_arn = connect(events, receiver.url("/token"), **extra)
    destination = events.create_api_destination(
        Name="receiver", ConnectionArn=connection_arn, InvocationEndpoint=receiver.url("/hook"), HttpMethod="POST"
    )
    events.put_rule(Name="paid", EventPattern=PATTERN)
    events.put_targets(Rule="paid", Targets=[{"Id": "hook", "Arn": destination["ApiDestinationArn"]}])


def publish(events, n: int = 1) -> None:
    entries = [{"Source": "shop", "DetailType": "OrderPaid", "Detail": json.dumps({"n": i})} for i in range(n)]
    events.put_events(Entries=entries)


def delivered(receiver, n: int) -> list:
    return wait_until(lambda: len(receiver.requests("/hook")) >= n and receiver.requests("/hook"), message="webhooks")


def test_deliveries_carry_a_bearer_token_fetched_once(events, fast, receiver):
    receiver.script("/token", token_reply("tok-1"))
    wire(events, receiver)
    publish(events, 3)
    with running_dispatcher():
        requests = delivered(receiver, 3)
    assert [r.headers["Authorization"] for r in requests] == ["Bearer tok-1"] * 3
    assert len(receiver.requests("/token")) == 1


def test_the_token_request_sends_the_client_credentials_and_the_connections_parameters(events, fast, receiver):
    receiver.script("/token", token_reply("tok-1"))
    http = {
        "HeaderParameters": [{"Key": "X-Tenant", "Value": "shop"}],
        "BodyParameters": [{"Key": "scope", "Value": "events.write", "IsValueSecret": True}],
    }
    wire(events, receiver, OAuthHttpParameters=http)
    publish(events)
    with running_dispatcher():
        delivered(receiver, 1)
    [request] = receiver.requests("/token")
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"shop-client:client-s3cret").decode()
    assert request.headers["X-Tenant"] == "shop"
    assert parse_qs(request.body.decode()) == {"grant_type": ["client_credentials"], "scope": ["events.write"]}


def test_the_token_is_never_stored_with_the_attempt(events, fast, receiver):
    receiver.script("/token", token_reply("tok-1"))
    wire(events, receiver)
    publish(events)
    with running_dispatcher():
        wait_until(lambda: DeliveryAttempt.objects.exists(), message="an attempt")
    assert DeliveryAttempt.objects.get().request_headers["Authorization"] == "[redacted]"


def test_an_expired_token_is_replaced(events, fast, receiver):
    receiver.script("/token", token_reply("tok-1", expires_in=0), token_reply("tok-2"))
    wire(events, receiver)
    with running_dispatcher():
        publish(events)
        delivered(receiver, 1)
        publish(events)
        requests = delivered(receiver, 2)
    assert [r.headers["Authorization"] for r in requests] == ["Bearer tok-1", "Bearer tok-2"]


def test_a_token_the_target_refuses_is_replaced_and_the_delivery_retried(events, fast, receiver):
    receiver.script("/token", token_reply("tok-1"), token_reply("tok-2"))
    receiver.script("/hook", Reply(401), Reply(200))
    wire(events, receiver)
    publish(events)
    with running_dispatcher():
        requests = delivered(receiver, 2)
        wait_until(lambda: Delivery.objects.filter(state=Delivery.State.SUCCEEDED).exists(), message="success")
    assert [r.headers["Authorization"] for r in requests] == ["Bearer tok-1", "Bearer tok-2"]


def test_a_refused_token_request_dead_letters_and_deauthorizes_the_connection(events, fast, receiver):
    receiver.script("/token", Reply(400, {"Content-Type": "application/json"}, b'{"error": "invalid_client"}'))
    wire(events, receiver)
    publish(events)
    with running_dispatcher():
        wait_until(lambda: Delivery.objects.filter(state=Delivery.State.DEAD).exists(), message="dead letter")
    attempt = DeliveryAttempt.objects.get()
    assert attempt.error.startswith(f"OAuth token request to {receiver.url('/token')} answered HTTP 400")
    assert events.describe_connection(Name="oauth")["ConnectionState"] == "DEAUTHORIZED"
    assert not receiver.requests("/hook")


def test_a_failing_token_endpoint_is_retried(events, fast, receiver):
    receiver.script("/token", Reply(503), token_reply("tok-1"))
    wire(events, receiver)
    publish(events)
    with running_dispatcher():
        [request] = delivered(receiver, 1)
    assert request.headers["Authorization"] == "Bearer tok-1"
    assert "answered HTTP 503" in DeliveryAttempt.objects.order_by("started_at").first().error


def test_the_token_endpoint_goes_through_the_ssrf_guard(events, fast, receiver, settings):
    settings.EVENTHUB = {**settings.EVENTHUB, "WEBHOOK_ALLOW_NETWORKS": []}
    wire(events, receiver)
    publish(events)
    with running_dispatcher():
        dead = wait_until(lambda: Delivery.objects.filter(state=Delivery.State.DEAD).first(), message="dead letter")
    assert dead.dead_reason == Delivery.DeadReason.DESTINATION_REFUSED
    assert not receiver.requests()


def test_oauth_connection_is_described_without_its_secrets(events):
    http = {"BodyParameters": [{"Key": "audience", "Value": "hidden-audience", "IsValueSecret": True}]}
    connect(events, OAuthHttpParameters=http)
    described = events.describe_connection(Name="oauth")
    assert described["AuthParameters"] == {
        "OAuthParameters": {
            "ClientParameters": {"ClientID": "shop-client"},
            "AuthorizationEndpoint": "https://auth.example.com/token",
            "HttpMethod": "POST",
            "OAuthHttpParameters": {"BodyParameters": [{"Key": "audience", "IsValueSecret": True}]},
        }
    }
    assert described["ConnectionState"] == "AUTHORIZED"
    shown = json.dumps([described, events.list_connections()], default=str)
    assert "client-s3cret" not in shown and "hidden-audience" not in shown


def test_updating_the_client_id_keeps_the_stored_secret(events):
    connect(events)
    events.update_connection(
        Name="oauth", AuthParameters={"OAuthParameters": {"ClientParameters": {"ClientID": "new-client"}}}
    )
    stored = Connection.objects.get().auth_parameters["OAuthParameters"]["ClientParameters"]
    assert stored == {"ClientID": "new-client", "ClientSecret": "client-s3cret"}


def test_oauth_connection_with_a_bad_authorization_endpoint_is_refused(events):
    with pytest.raises(ClientError) as raised:
        connect(events, "ftp://auth.example.com/token")
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert "AuthorizationEndpoint" in raised.value.response["Error"]["Message"]


def test_native_api_creates_an_oauth_connection_and_shows_it_without_its_secret(client, transactional_db):
    key, secret = ApiKey.issue("ops", ["admin"])
    auth = {
        "oauth": {
            "client_id": "shop-client",
            "client_secret": "client-s3cret",
            "authorization_endpoint": "https://auth.example.com/token",
            "http_method": "POST",
            "body_parameters": [{"key": "scope", "value": "events.write"}],
        }
    }
    body = {"name": "oauth", "authorization_type": "OAUTH_CLIENT_CREDENTIALS", "auth": auth}
    header = {"HTTP_AUTHORIZATION": f"Bearer {key.access_key_id}:{secret}"}
    created = client.post("/api/v1/connections", json.dumps(body), content_type="application/json", **header)
    assert created.status_code == 201
    assert created.json()["auth"] == {
        "oauth": {
            "client_id": "shop-client",
            "authorization_endpoint": "https://auth.example.com/token",
            "http_method": "POST",
            "body_parameters": [{"key": "scope", "value": "events.write", "is_value_secret": False}],
        }
    }
    assert "client-s3cret" not in created.content.decode()
