"""Archives, replays and tags over the EventBridge API (boto3 against a live Daphne)."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from dashboard.models import Rule
from dashboard.models.streams import Archive, Replay
from tests.aws_support import client_for, live_server_for_module  # noqa: F401 - the `server` fixture

PATTERN = json.dumps({"source": ["shop"]})
BUS_ARN = "arn:aws:events:local-1:000000000000:event-bus/default"
HANDLER_ARN = "arn:aws:lambda:local-1:000000000000:function:dashboard.shop.orders.ship_new_order"


@pytest.fixture
def events(server, transactional_db):
    return client_for(server, ["admin"])


def error_code(call, **params) -> str:
    with pytest.raises(ClientError) as raised:
        call(**params)
    return raised.value.response["Error"]["Code"]


def window() -> dict:
    now = datetime.now(UTC)
    return {"EventStartTime": now - timedelta(hours=1), "EventEndTime": now}


def test_archive_is_created_described_updated_and_deleted(events):
    answer = events.create_archive(ArchiveName="orders", EventSourceArn=BUS_ARN, EventPattern=PATTERN, RetentionDays=7)
    assert answer["ArchiveArn"] == "arn:aws:events:local-1:000000000000:archive/orders"
    described = events.describe_archive(ArchiveName="orders")
    assert (described["EventSourceArn"], described["EventPattern"], described["RetentionDays"]) == (BUS_ARN, PATTERN, 7)
    events.update_archive(ArchiveName="orders", RetentionDays=30, Description="a month")
    assert Archive.objects.get().retention_days == 30
    assert [a["ArchiveName"] for a in events.list_archives(EventSourceArn=BUS_ARN)["Archives"]] == ["orders"]
    events.delete_archive(ArchiveName="orders")
    assert error_code(events.describe_archive, ArchiveName="orders") == "ResourceNotFoundException"


def test_duplicate_archive_is_refused(events):
    events.create_archive(ArchiveName="orders", EventSourceArn=BUS_ARN)
    assert error_code(events.create_archive, ArchiveName="orders", EventSourceArn=BUS_ARN) == (
        "ResourceAlreadyExistsException"
    )


def test_archive_with_a_bad_pattern_is_refused(events):
    assert (
        error_code(events.create_archive, ArchiveName="a", EventSourceArn=BUS_ARN, EventPattern='{"source": "x"}')
        == "InvalidEventPatternException"
    )


def test_replay_of_an_archive_starts_is_described_and_cancelled(events):
    events.put_rule(Name="paid", EventPattern=PATTERN)
    events.put_targets(Rule="paid", Targets=[{"Id": "ship", "Arn": HANDLER_ARN}])
    events.put_events(Entries=[{"Source": "shop", "DetailType": "OrderPaid", "Detail": "{}"}])
    archive_arn = events.create_archive(ArchiveName="orders", EventSourceArn=BUS_ARN)["ArchiveArn"]
    rule_arn = events.describe_rule(Name="paid")["Arn"]
    started = events.start_replay(
        ReplayName="again",
        EventSourceArn=archive_arn,
        Destination={"Arn": BUS_ARN, "FilterArns": [rule_arn]},
        **window(),
    )
    assert (started["ReplayArn"], started["State"]) == ("arn:aws:events:local-1:000000000000:replay/again", "STARTING")
    replay = Replay.objects.get()
    assert (replay.archive_name, replay.rule_ids, replay.events_total) == ("orders", [Rule.objects.get().pk], 1)
    described = events.describe_replay(ReplayName="again")
    assert (described["EventSourceArn"], described["Destination"]["FilterArns"]) == (archive_arn, [rule_arn])
    assert [r["ReplayName"] for r in events.list_replays(State="STARTING")["Replays"]] == ["again"]
    assert events.cancel_replay(ReplayName="again")["State"] == "CANCELLED"
    assert error_code(events.cancel_replay, ReplayName="again") == "IllegalStatusException"


def test_replay_of_a_missing_archive_is_not_found(events):
    missing = "arn:aws:events:local-1:000000000000:archive/missing"
    assert (
        error_code(
            events.start_replay, ReplayName="r", EventSourceArn=missing, Destination={"Arn": BUS_ARN}, **window()
        )
        == "ResourceNotFoundException"
    )


def test_replay_name_is_unique(events):
    archive_arn = events.create_archive(ArchiveName="orders", EventSourceArn=BUS_ARN)["ArchiveArn"]
    params = {"ReplayName": "r", "EventSourceArn": archive_arn, "Destination": {"Arn": BUS_ARN}, **window()}
    events.start_replay(**params)
    assert error_code(events.start_replay, **params) == "ResourceAlreadyExistsException"


def test_replay_into_another_bus_is_refused(events):
    events.create_event_bus(Name="other")
    archive_arn = events.create_archive(ArchiveName="orders", EventSourceArn=BUS_ARN)["ArchiveArn"]
    other = "arn:aws:events:local-1:000000000000:event-bus/other"
    assert (
        error_code(
            events.start_replay, ReplayName="r", EventSourceArn=archive_arn, Destination={"Arn": other}, **window()
        )
        == "ValidationException"
    )


def test_tags_are_stored_listed_and_removed(events):
    rule_arn = events.put_rule(Name="paid", EventPattern=PATTERN, Tags=[{"Key": "team", "Value": "shop"}])["RuleArn"]
    events.tag_resource(ResourceARN=rule_arn, Tags=[{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "ops"}])
    assert events.list_tags_for_resource(ResourceARN=rule_arn)["Tags"] == [
        {"Key": "env", "Value": "prod"},
        {"Key": "team", "Value": "ops"},
    ]
    events.untag_resource(ResourceARN=rule_arn, TagKeys=["env"])
    assert events.list_tags_for_resource(ResourceARN=rule_arn)["Tags"] == [{"Key": "team", "Value": "ops"}]


def test_bus_created_with_tags_lists_them(events):
    arn = events.create_event_bus(Name="orders", Tags=[{"Key": "team", "Value": "shop"}])["EventBusArn"]
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "shop"}]


def test_tagging_a_missing_resource_is_not_found(events):
    missing = "arn:aws:events:local-1:000000000000:rule/missing"
    assert error_code(events.tag_resource, ResourceARN=missing, Tags=[{"Key": "a", "Value": "b"}]) == (
        "ResourceNotFoundException"
    )


def test_deleted_resource_takes_its_tags_along(events):
    rule_arn = events.put_rule(Name="paid", EventPattern=PATTERN, Tags=[{"Key": "team", "Value": "shop"}])["RuleArn"]
    events.delete_rule(Name="paid")
    events.put_rule(Name="paid", EventPattern=PATTERN)
    assert events.list_tags_for_resource(ResourceARN=rule_arn)["Tags"] == []
