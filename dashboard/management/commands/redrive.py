from datetime import datetime

from django.core.management.base import BaseCommand, CommandError

from dashboard.audit import Action, record_audit
from dashboard.delivery.redrive import (
    DeadLetterFilter,
    dead_letters,
    dry_run_redrive,
    purge_dead_letters,
    redrive_dead_letters,
)


def _timestamp(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"not an ISO 8601 timestamp: {value!r}") from error
    if parsed.tzinfo is None:
        raise CommandError(f"{value!r} needs a time zone, for example 2026-01-31T12:00:00Z")
    return parsed


_FILTERS = ("rule_id", "target_id", "error", "status_code", "since", "until")
ACTOR = "manage.py redrive"  # also what the redriven deliveries show as "redriven by"


def _described(ids: list[str], options: dict) -> str:
    """The selection in words, for the audit log."""
    named = [f"{name}={options[name]}" for name in _FILTERS if options[name] not in (None, "")]
    if ids:
        named.insert(0, f"{len(ids)} ids")
    return "dead letters" + (f" ({', '.join(named)})" if named else "")


class Command(BaseCommand):
    help = (
        "Redrive (or with --purge, delete) dead letters selected by id or filter. --dry-run only shows what a "
        "redrive would do. Without any selector nothing is selected; --all selects every dead letter."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("ids", nargs="*", help="Delivery ids.")
        parser.add_argument("--all", action="store_true", help="Every dead letter (combined with filters).")
        parser.add_argument("--rule", type=int, dest="rule_id")
        parser.add_argument("--target", type=int, dest="target_id")
        parser.add_argument("--error", default="", help="Substring of the last error or the dead reason.")
        parser.add_argument("--status", type=int, dest="status_code")
        parser.add_argument("--since", type=_timestamp, help="Dead-lettered at or after (ISO 8601).")
        parser.add_argument("--until", type=_timestamp, help="Dead-lettered before (ISO 8601).")
        parser.add_argument("--rate", type=float, help="Deliveries per second (default: as fast as workers go).")
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--dry-run", action="store_true", help="Predict the outcome; change nothing.")
        action.add_argument("--purge", action="store_true", help="Delete instead of redriving.")

    def handle(self, *args, ids: list[str], all: bool, rate: float | None, dry_run: bool, purge: bool, **options):
        selector = DeadLetterFilter(
            **{k: options[k] for k in _FILTERS},
            ids=ids or None,
        )
        if not (all or ids or any(options[k] not in (None, "") for k in _FILTERS)):
            raise CommandError("Select dead letters by id, by a filter, or with --all.")
        if rate is not None and rate <= 0:
            raise CommandError("--rate must be positive")
        selection = dead_letters(selector)
        total = selection.count()
        if dry_run:
            for bucket, count in dry_run_redrive(selection).items():
                self.stdout.write(f"{bucket}: {count}")
            self.stdout.write(f"total: {total}")
            return
        if purge:
            purged = purge_dead_letters(selection, actor=ACTOR)
            record_audit(Action.PURGE, _described(ids, options), actor=ACTOR, count=purged)
            self.stdout.write(f"purged {purged} dead letters")
            return
        result = redrive_dead_letters(
            selection, actor=ACTOR, rate=rate, progress=lambda done, of: self.stderr.write(f"{done}/{of}")
        )
        detail = {"skipped": result.skipped}
        record_audit(Action.REDRIVE, _described(ids, options), actor=ACTOR, count=result.redriven, detail=detail)
        self.stdout.write(f"redriven {result.redriven}, skipped {result.skipped}")
