"""Scheduled rules: at each tick of a rule's schedule, a `Scheduled Event` from `aws.events` is published on
the rule's bus, naming the rule in `resources`; the rule's pattern matches exactly that event, so its
targets get it like any other.

Exactly once per tick with any number of schedulers: a rule's tick is taken under a row lock (skipped by the
others) and moved on in the transaction that publishes, and the event id is derived from (rule, tick), so
a second publication of the same tick stores nothing. Ticks missed while no scheduler ran are not made up:
the rule fires once and moves to its next tick after now.
"""

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from dashboard.ingest.publishing import publish_entries
from dashboard.models import Rule
from dashboard.rules.configuration import rule_arn
from dashboard.rules.schedules import parse_schedule

log = logging.getLogger(__name__)


def fire_due_schedules(now: datetime | None = None) -> int:
    """Publish the Scheduled Event of every enabled rule whose tick has come; returns how many were published."""
    now = now or timezone.now()
    due = Rule.objects.filter(state=Rule.State.ENABLED, next_fire_at__lte=now).exclude(schedule_expression="")
    return sum(_fire(rule_id, now) for rule_id in due.values_list("pk", flat=True))


def _fire(rule_id: int, now: datetime) -> int:
    with transaction.atomic():
        rule = (
            Rule.objects.select_for_update(skip_locked=True)
            .filter(pk=rule_id, state=Rule.State.ENABLED, next_fire_at__lte=now)
            .exclude(schedule_expression="")
            .first()
        )
        if rule is None:  # another scheduler has it, or it changed meanwhile
            return 0
        tick = rule.next_fire_at
        # update(), not save(): moving the tick is not an edit, and must not reload every routing table.
        Rule.objects.filter(pk=rule.pk).update(next_fire_at=parse_schedule(rule.schedule_expression).next_after(now))
        [result] = publish_entries(
            [
                {
                    "id": f"scheduled-{rule.pk}-{int(tick.timestamp())}",
                    "bus": rule.bus,
                    "source": "aws.events",
                    "detail-type": "Scheduled Event",
                    "time": tick.isoformat(),
                    "resources": [rule_arn(rule)],
                    "detail": {},
                }
            ]
        )
        if not result.ok:
            log.error("scheduled event of rule %s refused: %s", rule, result.error_message)
            transaction.set_rollback(True)
            return 0
    return 1
