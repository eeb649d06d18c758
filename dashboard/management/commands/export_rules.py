from django.core.management.base import BaseCommand

from dashboard.rules.rules_as_code import dump_document, export_configuration


class Command(BaseCommand):
    help = "Write the buses, API destinations, rules and targets as YAML (or --json), in the format of apply_rules."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", action="store_true", help="JSON instead of YAML.")

    def handle(self, *args, json: bool, **options) -> None:
        self.stdout.write(dump_document(export_configuration(), json_format=json), ending="")
