import logging

from django.db import DatabaseError

from dashboard.management.periodic import PeriodicCommand
from dashboard.rules.scheduling import fire_due_schedules


class Command(PeriodicCommand):
    help = (
        "Publishes the Scheduled Events of scheduled rules (PutRule with ScheduleExpression) at their ticks. "
        "Any number may run: each tick is published once."
    )
    interval_help = "Seconds between looks for due ticks."
    once_help = "Publish what is due now, then exit."
    recoverable = (DatabaseError,)
    log = logging.getLogger("dashboard.schedule")

    def run_pass(self) -> None:
        if fired := fire_due_schedules():
            self.log.info("published %d scheduled events", fired)
