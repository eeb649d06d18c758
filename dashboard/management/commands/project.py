import logging
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from dashboard.eventsourcing import projection_runner, projections, replay, retention
from dashboard.models.streams import ProjectionState
from dashboard.observability.tracing import start_from_settings

log = logging.getLogger("dashboard.project")


class Command(BaseCommand):
    help = (
        "The event-store worker: runs every registered projection from its checkpoint, rebuilds asked for on "
        "the dashboard, active replays, and the retention purge. Safe to kill at any moment; safe to run twice."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch", type=int, default=None, help="Events per projection transaction.")
        parser.add_argument("--idle", type=float, default=0.2, help="Seconds to sleep when there is nothing to do.")
        parser.add_argument("--once", action="store_true", help="Exit once nothing is left to do.")

    def handle(self, *args, batch: int | None, idle: float, once: bool, **options) -> None:
        self.stopping = False
        start_from_settings("eventhub-project")
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        names = list(projections.registered())
        # A restart is how a fix gets deployed, so stopped projections get one more try.
        for name in ProjectionState.objects.filter(status=ProjectionState.Status.FAILED).values_list("name", flat=True):
            projection_runner.retry(name)
        self.stdout.write(f"Projecting {', '.join(names) or 'nothing'}; replays and retention too.")
        next_purge = time.monotonic()
        while not self.stopping:
            close_old_connections()
            self.failed = False
            busy = self._run_projections(names, batch)
            busy |= self._guarded("replays", replay.run_due_replays) > 0
            if time.monotonic() >= next_purge:
                self._guarded("retention", retention.purge_expired_events)
                next_purge = time.monotonic() + settings.EVENTHUB["RETENTION_INTERVAL_SECONDS"]
            if not busy:
                if once:
                    return
                # After an error (the database away, say) wait longer, so the log is not flooded.
                time.sleep(max(idle, 2.0) if self.failed else idle)

    def _run_projections(self, names: list[str], batch: int | None) -> bool:
        busy = False
        requested = set(self._guarded("rebuild requests", projection_runner.requested_rebuilds) or ())
        for name in names:
            if name in requested:
                self._guarded(f"{name} rebuild start", projection_runner.start_rebuild, name)
            busy |= bool(self._guarded(name, projection_runner.run_step, name, batch))
            state = ProjectionState.objects.filter(name=name).first()
            if state and state.is_rebuilding and not state.rebuild_error:
                self._guarded(f"{name} rebuild", projection_runner.rebuild_step, name, batch)
                busy = True
        return busy

    def _guarded(self, what: str, function, *args):
        """One projection's (or the replays') failure must not stop the others: log it and go on."""
        try:
            return function(*args)
        except Exception:  # noqa: BLE001 - logged; the next round retries from the committed checkpoint
            log.exception("%s failed; retrying in the next round", what)
            self.failed = True
            return 0

    def _stop(self, signum, frame) -> None:
        self.stopping = True
