import logging
import signal
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from dashboard.schemas.discovery import discover_schemas

log = logging.getLogger("dashboard.discover_schemas")


class Command(BaseCommand):
    help = (
        "Schema discovery: infers the schemas of the events on every bus with discovery on, and registers a "
        "new version when a new shape appears. Reads stored events only, so publishing never waits for it. "
        "`make run` runs it."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--interval", type=float, default=5.0, help="Seconds between passes.")
        parser.add_argument("--once", action="store_true", help="Run one pass and exit.")

    def handle(self, *args, interval: float, once: bool, **options) -> None:
        self.stopping = False
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        while not self.stopping:
            close_old_connections()
            try:
                registered = discover_schemas()
            except Exception:  # noqa: BLE001 - logged; the next pass reads again from the stored position
                log.exception("schema discovery pass failed")
                registered = 0
            if registered:
                self.stdout.write(f"Registered {registered} discovered schema version(s).")
            if once:
                return
            self._wait(interval)

    def _wait(self, seconds: float) -> None:
        """Sleep between passes in short slices, so a stop request is honoured at once, not a pass later."""
        deadline = time.monotonic() + seconds
        while not self.stopping and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.5))

    def _stop(self, signum, frame) -> None:
        self.stopping = True
