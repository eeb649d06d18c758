import json as jsonlib

from django.core.management.base import BaseCommand, CommandError

from dashboard.models import ApiKey


class Command(BaseCommand):
    help = "Create an API key. The secret is printed once and only its digest is stored."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--scopes", default="publish", help="Comma-separated: publish, read, admin.")
        parser.add_argument("--json", action="store_true", help="Print {access_key_id, secret_access_key}.")

    def handle(self, *args, name: str, scopes: str, json: bool, **options) -> None:
        try:
            key, secret = ApiKey.issue(name, [s.strip() for s in scopes.split(",") if s.strip()])
        except ValueError as error:
            raise CommandError(str(error)) from error
        if json:
            payload = {"access_key_id": key.access_key_id, "secret_access_key": secret}
            self.stdout.write(jsonlib.dumps(payload))
            return
        self.stdout.write(f"access_key_id:     {key.access_key_id}")
        self.stdout.write(f"secret_access_key: {secret}")
        self.stdout.write("The secret is shown only now; store it somewhere safe.")
