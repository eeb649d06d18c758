"""/api/v1/buses, /rules and /rules/<name>/targets: the native configuration API; admin keys only."""

import json

import pytest

from dashboard.models import ApiKey, Rule, Target

pytestmark = pytest.mark.django_db

HANDLER = "dashboard.shop.orders.ship_new_order"
HANDLER_ARN = f"arn:aws:lambda:local-1:000000000000:function:{HANDLER}"


@pytest.fixture
def admin() -> dict:
    key, secret = ApiKey.issue("ops", ["admin"])
    return {"HTTP_AUTHORIZATION": f"Bearer {key.access_key_id}:{secret}"}


def put(client, url: str, body: object, header: dict):
    return client.put(url, json.dumps(body), content_type="application/json", **header)


def test_created_bus_is_listed_with_its_arn(client, admin):
    created = client.post("/api/v1/buses", {"name": "orders"}, content_type="application/json", **admin)
    assert created.status_code == 201
    listed = client.get("/api/v1/buses", **admin).json()["buses"]
    assert [(bus["name"], bus["arn"]) for bus in listed] == [
        ("default", "arn:aws:events:local-1:000000000000:event-bus/default"),
        ("orders", "arn:aws:events:local-1:000000000000:event-bus/orders"),
    ]


def test_duplicate_bus_is_a_conflict(client, admin):
    client.post("/api/v1/buses", {"name": "orders"}, content_type="application/json", **admin)
    again = client.post("/api/v1/buses", {"name": "orders"}, content_type="application/json", **admin)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "ResourceAlreadyExists")


def test_deleting_the_default_bus_is_refused(client, admin):
    assert client.delete("/api/v1/buses/default", **admin).status_code == 400


def test_put_rule_creates_then_replaces_it(client, admin):
    created = put(client, "/api/v1/rules/paid", {"event_pattern": {"source": ["shop"]}, "state": "DISABLED"}, admin)
    assert created.status_code == 200
    assert created.json()["arn"] == "arn:aws:events:local-1:000000000000:rule/paid"
    put(client, "/api/v1/rules/paid", {"event_pattern": '{"source": ["billing"]}'}, admin)
    rule = Rule.objects.get()
    assert (rule.event_pattern, rule.state) == ('{"source": ["billing"]}', Rule.State.ENABLED)


def test_invalid_pattern_is_a_400_with_the_engines_message(client, admin):
    answer = put(client, "/api/v1/rules/bad", {"event_pattern": {"source": "shop"}}, admin)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "InvalidEventPattern"
    assert answer.json()["error"]["message"].startswith("Invalid pattern at source")


def test_missing_rule_is_a_404(client, admin):
    assert client.get("/api/v1/rules/missing", **admin).status_code == 404


def test_rules_list_pages_with_next_token(client, admin):
    for name in ("a", "b", "c"):
        put(client, f"/api/v1/rules/{name}", {"event_pattern": {"source": ["shop"]}}, admin)
    first = client.get("/api/v1/rules?limit=2", **admin).json()
    assert [rule["name"] for rule in first["rules"]] == ["a", "b"]
    second = client.get(f"/api/v1/rules?limit=2&next_token={first['next_token']}", **admin).json()
    assert ([rule["name"] for rule in second["rules"]], second["next_token"]) == (["c"], None)


def test_put_target_binds_a_python_handler_and_reads_back(client, admin):
    put(client, "/api/v1/rules/paid", {"event_pattern": {"source": ["shop"]}}, admin)
    answer = put(
        client,
        "/api/v1/rules/paid/targets/ship",
        {"arn": HANDLER_ARN, "input_path": "$.detail", "retry_policy": {"maximum_retry_attempts": 2}},
        admin,
    )
    assert answer.status_code == 200
    assert answer.json()["arn"] == HANDLER_ARN
    target = Target.objects.get()
    assert (target.kind, target.handler, target.maximum_retry_attempts) == (Target.Kind.PYTHON, HANDLER, 2)
    listed = client.get("/api/v1/rules/paid/targets", **admin).json()["targets"]
    assert [(t["id"], t["input_path"]) for t in listed] == [("ship", "$.detail")]


def test_target_that_cannot_be_put_is_a_400(client, admin):
    put(client, "/api/v1/rules/paid", {"event_pattern": {"source": ["shop"]}}, admin)
    answer = put(client, "/api/v1/rules/paid/targets/q", {"arn": "arn:aws:sqs:local-1:000000000000:q"}, admin)
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "ValidationError")


def test_rule_with_targets_is_deleted_only_with_force(client, admin):
    put(client, "/api/v1/rules/paid", {"event_pattern": {"source": ["shop"]}}, admin)
    put(client, "/api/v1/rules/paid/targets/ship", {"arn": HANDLER_ARN}, admin)
    assert client.delete("/api/v1/rules/paid", **admin).status_code == 400
    assert client.delete("/api/v1/rules/paid?force=true", **admin).status_code == 204
    assert not Rule.objects.exists()


def test_deleted_target_is_gone(client, admin):
    put(client, "/api/v1/rules/paid", {"event_pattern": {"source": ["shop"]}}, admin)
    put(client, "/api/v1/rules/paid/targets/ship", {"arn": HANDLER_ARN}, admin)
    assert client.delete("/api/v1/rules/paid/targets/ship", **admin).status_code == 204
    assert client.delete("/api/v1/rules/paid/targets/ship", **admin).status_code == 404


def test_publish_key_is_refused(client, auth_header):
    answer = client.get("/api/v1/rules", **auth_header)
    assert (answer.status_code, answer.json()["error"]["code"]) == (403, "MissingScope")


@pytest.mark.parametrize(
    "body", [[], "text", {"event_pattern": 5}, {"event_pattern": {"source": ["x"]}, "description": {"a": 1}}]
)
def test_malformed_rule_bodies_are_400(client, admin, body):
    assert put(client, "/api/v1/rules/r", body, admin).status_code == 400


def post(client, url: str, body: object, header: dict):
    return client.post(url, json.dumps(body), content_type="application/json", **header)


def test_connection_is_created_and_shown_without_its_secret(client, admin):
    auth = {"api_key": {"name": "X-Api-Key", "value": "s3cret"}}
    body = {"name": "hooks", "authorization_type": "API_KEY", "auth": auth}
    created = post(client, "/api/v1/connections", body, admin)
    assert created.status_code == 201
    shown = client.get("/api/v1/connections/hooks", **admin).json()
    assert shown["auth"] == {"api_key": {"name": "X-Api-Key"}}
    assert "s3cret" not in json.dumps(shown)


def test_api_destination_target_follows_a_connection_patch(client, admin):
    auth = {"basic": {"username": "shop", "password": "one"}}
    post(client, "/api/v1/connections", {"name": "hooks", "authorization_type": "BASIC", "auth": auth}, admin)
    destination = {
        "name": "receiver",
        "connection": "hooks",
        "invocation_endpoint": "https://hooks.example.com/in",
        "http_method": "POST",
    }
    arn = post(client, "/api/v1/api-destinations", destination, admin).json()["arn"]
    put(client, "/api/v1/rules/paid", {"event_pattern": {"source": ["shop"]}}, admin)
    assert put(client, "/api/v1/rules/paid/targets/hook", {"arn": arn}, admin).status_code == 200
    patched = client.patch(
        "/api/v1/connections/hooks",
        json.dumps({"auth": {"basic": {"username": "shop", "password": "two"}}}),
        content_type="application/json",
        **admin,
    )
    assert patched.status_code == 200
    assert Target.objects.get().auth_headers == {"Authorization": "Basic c2hvcDp0d28="}


def test_api_destination_on_a_missing_connection_is_a_404(client, admin):
    destination = {"name": "d", "connection": "nope", "invocation_endpoint": "https://x.example.com"}
    destination["http_method"] = "POST"
    assert post(client, "/api/v1/api-destinations", destination, admin).status_code == 404


def test_archive_is_created_patched_and_deleted(client, admin):
    created = post(client, "/api/v1/archives", {"name": "orders", "event_pattern": {"source": ["shop"]}}, admin)
    assert (created.status_code, created.json()["arn"]) == (201, "arn:aws:events:local-1:000000000000:archive/orders")
    patched = client.patch(
        "/api/v1/archives/orders", json.dumps({"retention_days": 7}), content_type="application/json", **admin
    )
    assert patched.json()["retention_days"] == 7
    assert client.delete("/api/v1/archives/orders", **admin).status_code == 204
    assert client.get("/api/v1/archives/orders", **admin).status_code == 404
