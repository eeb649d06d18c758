"""The EventBridge management API (buses, rules, targets) driven by boto3 and the AWS CLI against a live Daphne;
bad input never gets a server error."""

import json
import os
import subprocess
import sys

import pytest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from dashboard.api.aws.management import REQUEST_MEMBERS
from dashboard.models import ApiKey, Rule, Target
from dashboard.models.audit import AuditEntry
from tests.aws_support import client_for, live_server_for_module, signed_call  # noqa: F401 - the `server` fixture

HANDLER = "dashboard.shop.orders.ship_new_order"
HANDLER_ARN = f"arn:aws:lambda:local-1:000000000000:function:{HANDLER}"
PATTERN = json.dumps({"source": ["shop"]})


@pytest.fixture
def events(server, transactional_db):
    return client_for(server, ["admin"])


def error_code(call, **params) -> str:
    with pytest.raises(ClientError) as raised:
        call(**params)
    return raised.value.response["Error"]["Code"]


# Event buses.


def test_default_bus_is_listed_and_described(events):
    assert [bus["Name"] for bus in events.list_event_buses()["EventBuses"]] == ["default"]
    assert events.describe_event_bus()["Arn"] == "arn:aws:events:local-1:000000000000:event-bus/default"


def test_created_bus_is_described_listed_and_deleted(events):
    answer = events.create_event_bus(Name="orders", Description="Order events")
    assert answer["EventBusArn"] == "arn:aws:events:local-1:000000000000:event-bus/orders"
    assert events.describe_event_bus(Name=answer["EventBusArn"])["Description"] == "Order events"
    assert [bus["Name"] for bus in events.list_event_buses(NamePrefix="ord")["EventBuses"]] == ["orders"]
    events.delete_event_bus(Name="orders")
    assert error_code(events.describe_event_bus, Name="orders") == "ResourceNotFoundException"


def test_duplicate_bus_is_refused(events):
    events.create_event_bus(Name="orders")
    assert error_code(events.create_event_bus, Name="orders") == "ResourceAlreadyExistsException"


def test_default_bus_cannot_be_deleted(events):
    assert error_code(events.delete_event_bus, Name="default") == "ValidationException"


def test_bus_with_rules_cannot_be_deleted(events):
    events.create_event_bus(Name="orders")
    events.put_rule(Name="r", EventBusName="orders", EventPattern=PATTERN)
    assert error_code(events.delete_event_bus, Name="orders") == "ValidationException"


# Rules.


def test_put_rule_creates_a_rule_that_describe_returns(events):
    answer = events.put_rule(Name="paid", EventPattern=PATTERN, Description="Paid orders", State="DISABLED")
    assert answer["RuleArn"] == "arn:aws:events:local-1:000000000000:rule/paid"
    described = events.describe_rule(Name="paid")
    assert (described["EventPattern"], described["State"], described["Description"]) == (
        PATTERN,
        "DISABLED",
        "Paid orders",
    )
    assert Rule.objects.get(name="paid").state == Rule.State.DISABLED


def test_rule_on_a_custom_bus_has_the_bus_in_its_arn(events):
    events.create_event_bus(Name="orders")
    answer = events.put_rule(Name="paid", EventBusName="orders", EventPattern=PATTERN)
    assert answer["RuleArn"] == "arn:aws:events:local-1:000000000000:rule/orders/paid"
    assert Rule.objects.get(name="paid").bus == "orders"


def test_put_rule_again_replaces_its_settings(events):
    events.put_rule(Name="paid", EventPattern=PATTERN, Description="first", State="DISABLED")
    events.put_rule(Name="paid", EventPattern=json.dumps({"source": ["billing"]}))
    described = events.describe_rule(Name="paid")
    assert (described["State"], described.get("Description")) == ("ENABLED", None)
    assert Rule.objects.count() == 1


def test_put_rule_records_who_did_it_in_the_audit_log(events):
    events.put_rule(Name="paid", EventPattern=PATTERN)
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor.startswith("api:EH")) == (AuditEntry.Action.RULE_CREATE, True)


def test_invalid_pattern_answers_the_engines_message(events):
    with pytest.raises(ClientError) as raised:
        events.put_rule(Name="bad", EventPattern=json.dumps({"source": "shop"}))
    assert raised.value.response["Error"]["Code"] == "InvalidEventPatternException"
    assert raised.value.response["Error"]["Message"].startswith("Invalid pattern at source")
    assert not Rule.objects.exists()


def test_rule_without_pattern_is_refused(events):
    assert error_code(events.put_rule, Name="bare") == "ValidationException"


def test_rule_on_a_missing_bus_is_not_found(events):
    assert error_code(events.put_rule, Name="r", EventBusName="nope", EventPattern=PATTERN) == (
        "ResourceNotFoundException"
    )


def test_describing_a_missing_rule_is_not_found(events):
    assert error_code(events.describe_rule, Name="missing") == "ResourceNotFoundException"


def test_list_rules_filters_by_prefix_and_pages_with_next_token(events):
    for name in ("order-a", "order-b", "order-c", "other"):
        events.put_rule(Name=name, EventPattern=PATTERN)
    first = events.list_rules(NamePrefix="order-", Limit=2)
    assert [rule["Name"] for rule in first["Rules"]] == ["order-a", "order-b"]
    second = events.list_rules(NamePrefix="order-", Limit=2, NextToken=first["NextToken"])
    assert [rule["Name"] for rule in second["Rules"]] == ["order-c"]
    assert "NextToken" not in second


def test_disable_and_enable_rule(events):
    events.put_rule(Name="paid", EventPattern=PATTERN)
    events.disable_rule(Name="paid")
    assert events.describe_rule(Name="paid")["State"] == "DISABLED"
    events.enable_rule(Name="paid")
    assert events.describe_rule(Name="paid")["State"] == "ENABLED"


def test_enabling_a_missing_rule_is_not_found(events):
    assert error_code(events.enable_rule, Name="missing") == "ResourceNotFoundException"


# Targets.


def test_lambda_arn_target_calls_the_registered_python_handler(events):
    events.put_rule(Name="paid", EventPattern=PATTERN)
    answer = events.put_targets(
        Rule="paid",
        Targets=[
            {
                "Id": "ship",
                "Arn": HANDLER_ARN,
                "InputPath": "$.detail",
                "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600},
            }
        ],
    )
    assert answer["FailedEntryCount"] == 0
    target = Target.objects.get()
    assert (target.kind, target.handler, target.input_path, target.maximum_retry_attempts) == (
        Target.Kind.PYTHON,
        HANDLER,
        "$.detail",
        3,
    )
    listed = events.list_targets_by_rule(Rule="paid")["Targets"]
    assert listed == [
        {
            "Id": "ship",
            "Arn": HANDLER_ARN,
            "InputPath": "$.detail",
            "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600},
        }
    ]


def test_constant_input_and_transformer_read_back_as_given(events):
    events.put_rule(Name="paid", EventPattern=PATTERN)
    transformer = {"InputPathsMap": {"id": "$.detail.id"}, "InputTemplate": '{"order": <id>}'}
    events.put_targets(
        Rule="paid",
        Targets=[
            {"Id": "constant", "Arn": HANDLER_ARN, "Input": '{"fixed": true}'},
            {"Id": "shaped", "Arn": HANDLER_ARN, "InputTransformer": transformer},
        ],
    )
    listed = {t["Id"]: t for t in events.list_targets_by_rule(Rule="paid")["Targets"]}
    assert listed["constant"]["Input"] == '{"fixed": true}'
    assert listed["shaped"]["InputTransformer"] == transformer


def test_put_targets_reports_each_target_that_cannot_be_put(events):
    events.put_rule(Name="paid", EventPattern=PATTERN)
    answer = events.put_targets(
        Rule="paid",
        Targets=[
            {"Id": "ok", "Arn": HANDLER_ARN},
            {"Id": "unregistered", "Arn": "arn:aws:lambda:local-1:000000000000:function:nobody.home"},
            {"Id": "queue", "Arn": "arn:aws:sqs:local-1:000000000000:orders"},
        ],
    )
    assert answer["FailedEntryCount"] == 2
    assert [(e["TargetId"], e["ErrorCode"]) for e in answer["FailedEntries"]] == [
        ("unregistered", "ValidationException"),
        ("queue", "ValidationException"),
    ]
    assert list(Target.objects.values_list("name", flat=True)) == ["ok"]


def test_target_with_a_malformed_arn_is_refused(events):
    events.put_rule(Name="paid", EventPattern=PATTERN)
    assert error_code(events.put_targets, Rule="paid", Targets=[{"Id": "t", "Arn": "not-an-arn"}]) == (
        "ValidationException"
    )


def test_targets_of_a_missing_rule_are_not_found(events):
    assert error_code(events.put_targets, Rule="missing", Targets=[{"Id": "t", "Arn": HANDLER_ARN}]) == (
        "ResourceNotFoundException"
    )


def test_rule_with_targets_is_deleted_only_with_force(events):
    events.put_rule(Name="paid", EventPattern=PATTERN)
    events.put_targets(Rule="paid", Targets=[{"Id": "ship", "Arn": HANDLER_ARN}])
    assert error_code(events.delete_rule, Name="paid") == "ValidationException"
    events.delete_rule(Name="paid", Force=True)
    assert not Rule.objects.exists()


def test_remove_targets_removes_them_and_reports_unknown_ids(events):
    events.put_rule(Name="paid", EventPattern=PATTERN)
    events.put_targets(Rule="paid", Targets=[{"Id": "ship", "Arn": HANDLER_ARN}])
    answer = events.remove_targets(Rule="paid", Ids=["ship", "ghost"])
    assert [e["TargetId"] for e in answer["FailedEntries"]] == ["ghost"]
    events.delete_rule(Name="paid")
    assert not Rule.objects.exists()


def test_list_rule_names_by_target(events):
    for name in ("a", "b", "c"):
        events.put_rule(Name=name, EventPattern=PATTERN)
    for name in ("a", "c"):
        events.put_targets(Rule=name, Targets=[{"Id": "ship", "Arn": HANDLER_ARN}])
    assert events.list_rule_names_by_target(TargetArn=HANDLER_ARN)["RuleNames"] == ["a", "c"]


# Access.


@pytest.mark.parametrize("scopes", [["publish"], ["read"], ["publish", "read"]])
def test_keys_without_the_admin_scope_are_denied(server, transactional_db, scopes):
    client = client_for(server, scopes)
    assert error_code(client.list_rules) == "AccessDeniedException"


# The AWS CLI.


def aws_cli(url: str, *args: str) -> subprocess.CompletedProcess:
    key, secret = ApiKey.issue("cli", ["admin"])
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID=key.access_key_id,
        AWS_SECRET_ACCESS_KEY=secret,
        AWS_DEFAULT_REGION="local-1",
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
    )
    command = [sys.executable, "-m", "awscli", "events", *args, "--endpoint-url", url]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def test_aws_cli_creates_lists_and_describes_rules(server, transactional_db):
    created = aws_cli(server, "put-rule", "--name", "paid", "--event-pattern", PATTERN)
    assert created.returncode == 0, created.stderr
    listed = aws_cli(server, "list-rules")
    assert [rule["Name"] for rule in json.loads(listed.stdout)["Rules"]] == ["paid"]
    described = aws_cli(server, "describe-rule", "--name", "paid")
    assert json.loads(described.stdout)["Arn"] == "arn:aws:events:local-1:000000000000:rule/paid"


def test_aws_cli_reports_the_error_cases(server, transactional_db):
    assert "ResourceNotFoundException" in aws_cli(server, "describe-rule", "--name", "missing").stderr
    aws_cli(server, "create-event-bus", "--name", "orders")
    assert "ResourceAlreadyExistsException" in aws_cli(server, "create-event-bus", "--name", "orders").stderr
    aws_cli(server, "put-rule", "--name", "paid", "--event-pattern", PATTERN)
    targets = json.dumps([{"Id": "ship", "Arn": HANDLER_ARN}])
    assert aws_cli(server, "put-targets", "--rule", "paid", "--targets", targets).returncode == 0
    assert "ValidationException" in aws_cli(server, "delete-rule", "--name", "paid").stderr
    bad = json.dumps([{"Id": "x", "Arn": "not-an-arn"}])
    assert "ValidationException" in aws_cli(server, "put-targets", "--rule", "paid", "--targets", bad).stderr
    bad_cron = aws_cli(server, "put-rule", "--name", "nightly", "--schedule-expression", "cron(0 2 * * * *)")
    assert "ValidationException" in bad_cron.stderr


# Bad input.

ODD_VALUES = {
    "string": ["", "\x00", "x" * 5000, "arn:aws:events:local-1:000000000000:event-bus/", "arn:", "*"],
    "number": [0, -1, 10**20, 1.5],
    "boolean": [True],
    "array": [[], [None], [{"Id": "\x00", "Arn": "arn:aws:lambda:r:1:function:"}], [{"Id": "a", "Arn": []}], ["x"]],
    "object": [{}, {"ApiKeyAuthParameters": {"ApiKeyName": "\x00", "ApiKeyValue": []}}, {"HeaderParameters": 5}],
}


def test_no_management_request_gets_a_server_error(server, transactional_db):
    key, secret = ApiKey.issue("odd", ["admin"])
    credentials = Credentials(key.access_key_id, secret)
    server_errors = []
    for operation, members in REQUEST_MEMBERS.items():
        for member, kind in members.items():
            for value in ODD_VALUES[kind]:
                params = {"Name": "n", "Rule": "n", "ReplayName": "n", "ArchiveName": "n", member: value}
                status, answer = signed_call(server, credentials, operation, params)
                if status >= 500:
                    server_errors.append((operation, member, value, answer))
    assert server_errors == []
