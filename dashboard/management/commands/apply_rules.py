import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from dashboard.rules import configuration
from dashboard.rules.rules_as_code import InvalidDocument, apply_configuration, load_document


class Command(BaseCommand):
    help = (
        "Make the stored buses, API destinations, rules and targets equal to a YAML or JSON file (as written by "
        "export_rules). Prints what was created and changed; --prune also deletes what the file does not list."
    )

    stealth_options = ("stdin",)  # what '-' reads, for tests

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="YAML, or JSON when the name ends in .json; '-' reads standard input.")
        parser.add_argument("--dry-run", action="store_true", help="Print the changes without making them.")
        parser.add_argument(
            "--prune",
            action="store_true",
            help="Delete rules, targets, API destinations and buses the file does not list.",
        )

    def handle(self, *args, file: str, dry_run: bool, prune: bool, **options) -> None:
        text = options.get("stdin", sys.stdin).read() if file == "-" else _read(file)
        try:
            document = load_document(text, json_format=file.endswith(".json"))
            changes = apply_configuration(document, prune=prune, dry_run=dry_run, actor="command:apply_rules")
        except (InvalidDocument, configuration.ConfigurationError) as error:
            raise CommandError(str(error)) from None
        for change in changes:
            self.stdout.write(("would be " if dry_run else "") + str(change))
        if not changes:
            self.stdout.write("no changes")


def _read(file: str) -> str:
    try:
        return Path(file).read_text()
    except OSError as error:
        raise CommandError(f"cannot read {file}: {error.strerror}") from None
