"""Scheduled rules: PutRule with a ScheduleExpression, and the Scheduled Event published once per tick."""

import threading
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError
from django.db import connection
from django.utils import timezone

from dashboard.models import Delivery, Event, Rule
from dashboard.rules import configuration
from dashboard.rules.scheduling import fire_due_schedules
from tests.aws_support import client_for, live_server_for_module  # noqa: F401 - the `server` fixture

HANDLER_ARN = "arn:aws:lambda:local-1:000000000000:function:dashboard.shop.orders.ship_new_order"


@pytest.fixture
def events(server, transactional_db):
    return client_for(server, ["admin"])


def scheduled_rule(expression: str = "rate(5 minutes)", *, due_ago: timedelta = timedelta(seconds=1)) -> Rule:
    rule = configuration.put_rule("tick", event_pattern=None, schedule_expression=expression)
    configuration.put_targets("tick", None, [configuration.TargetSpec(id="ship", arn=HANDLER_ARN)])
    Rule.objects.filter(pk=rule.pk).update(next_fire_at=timezone.now() - due_ago)
    return rule


def test_boto3_scheduled_rule_is_described_with_its_schedule(events):
    events.put_rule(Name="nightly", ScheduleExpression="cron(0 2 * * ? *)")
    described = events.describe_rule(Name="nightly")
    assert (described["ScheduleExpression"], "EventPattern" in described) == ("cron(0 2 * * ? *)", False)
    assert Rule.objects.get().next_fire_at.hour == 2


def test_boto3_bad_cron_is_a_validation_exception(events):
    with pytest.raises(ClientError) as raised:
        events.put_rule(Name="nightly", ScheduleExpression="cron(0 2 * * * *)")
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert "day-of-week" in raised.value.response["Error"]["Message"]


def test_pattern_and_schedule_together_are_refused(events):
    with pytest.raises(ClientError) as raised:
        events.put_rule(Name="both", ScheduleExpression="rate(1 hour)", EventPattern='{"source": ["x"]}')
    assert raised.value.response["Error"]["Code"] == "ValidationException"


def test_due_tick_publishes_a_scheduled_event_to_the_rules_targets(db):
    rule = scheduled_rule()
    assert fire_due_schedules() == 1
    event = Event.objects.get()
    assert (event.source, event.detail_type, event.resources) == (
        "aws.events",
        "Scheduled Event",
        ["arn:aws:events:local-1:000000000000:rule/tick"],
    )
    assert Delivery.objects.get().rule_id == rule.pk
    assert Rule.objects.get().next_fire_at > timezone.now()


def test_missed_ticks_are_not_made_up(db):
    scheduled_rule(due_ago=timedelta(hours=3))
    assert fire_due_schedules() == 1
    assert fire_due_schedules() == 0
    assert Event.objects.count() == 1


def test_disabled_rule_does_not_fire(db):
    scheduled_rule()
    configuration.set_rule_enabled("tick", None, False)
    assert fire_due_schedules() == 0


def test_concurrent_schedulers_publish_a_tick_once(transactional_db):
    scheduled_rule()
    now, start = timezone.now(), threading.Barrier(4)

    def scheduler() -> None:
        start.wait()
        try:
            fire_due_schedules(now)
        finally:
            connection.close()

    threads = [threading.Thread(target=scheduler) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Event.objects.count() == 1
