import logging

from dashboard.management.periodic import PeriodicCommand
from dashboard.schemas.discovery import discover_schemas


class Command(PeriodicCommand):
    help = (
        "Schema discovery: infers the schemas of the events on every bus with discovery on, and registers a "
        "new version when a new shape appears. Reads stored events only, so publishing never waits for it. "
        "`make run` runs it."
    )
    interval = 5.0
    # Any failure is logged and the next pass reads again from the stored position.
    log = logging.getLogger("dashboard.discover_schemas")

    def run_pass(self) -> None:
        if registered := discover_schemas():
            self.stdout.write(f"Registered {registered} discovered schema version(s).")
