"""The loop of the commands that repeat one pass of work (`discover_schemas`, `schedule`)."""

import logging
import signal
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections


class PeriodicCommand(BaseCommand):
    """Runs `run_pass` every --interval seconds until SIGTERM or SIGINT, or once with --once.

    A pass that raises one of `recoverable` is logged and the next pass tries again; a stop request is
    honoured within half a second, not a pass later."""

    interval = 1.0
    interval_help = "Seconds between passes."
    once_help = "Run one pass and exit."
    recoverable: tuple[type[Exception], ...] = (Exception,)
    log = logging.getLogger(__name__)  # each command names its own

    def run_pass(self) -> None:
        raise NotImplementedError

    def add_arguments(self, parser) -> None:
        parser.add_argument("--interval", type=float, default=self.interval, help=self.interval_help)
        parser.add_argument("--once", action="store_true", help=self.once_help)

    def handle(self, *args, interval: float, once: bool, **options) -> None:
        self.stopping = False
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        while not self.stopping:
            close_old_connections()
            try:
                self.run_pass()
            except self.recoverable:
                self.log.exception("the pass failed; the next one tries again")
            if once:
                return
            self._wait(interval)

    def _wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.5))

    def _stop(self, signum, frame) -> None:
        self.stopping = True
