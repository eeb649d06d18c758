import logging
import signal
import time

from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections

from dashboard.rules.scheduling import fire_due_schedules

log = logging.getLogger("dashboard.schedule")


class Command(BaseCommand):
    help = (
        "Publishes the Scheduled Events of scheduled rules (PutRule with ScheduleExpression) at their ticks. "
        "Any number may run: each tick is published once."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between looks for due ticks.")
        parser.add_argument("--once", action="store_true", help="Publish what is due now, then exit.")

    def handle(self, *args, interval: float, once: bool, **options) -> None:
        self.stopping = False
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        while not self.stopping:
            close_old_connections()
            try:
                fired = fire_due_schedules()
            except DatabaseError:
                log.warning("scheduled rules: the database failed; trying again", exc_info=True)
                fired = 0
            if fired:
                log.info("published %d scheduled events", fired)
            if once:
                return
            time.sleep(interval)

    def _stop(self, signum, frame) -> None:
        self.stopping = True
