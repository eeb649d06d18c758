import json as jsonlib
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from dashboard.api.auth import KEY_CACHE_SECONDS
from dashboard.models import ApiKey
from dashboard.rules import operator_actions


class Command(BaseCommand):
    help = (
        "Give an API key a new secret, printed once. The old secret keeps working for a grace period "
        "(EVENTHUB_API_KEY_ROTATION_GRACE_SECONDS, 24 h by default); --grace 0 cuts it off now."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("access_key_id")
        parser.add_argument("--grace", type=float, help="Seconds the old secret stays valid.")
        parser.add_argument(
            "--json", action="store_true", help="Print {access_key_id, secret_access_key, previous_secret_expires_at}."
        )

    def handle(self, *args, access_key_id: str, grace: float | None, json: bool, **options) -> None:
        key = ApiKey.objects.filter(access_key_id=access_key_id).first()
        if key is None:
            raise CommandError(f"no API key {access_key_id}")
        try:
            secret = operator_actions.rotate_api_key(
                key, actor="manage.py rotate_api_key", grace=None if grace is None else timedelta(seconds=grace)
            )
        except (ValueError, OverflowError) as error:
            raise CommandError(str(error)) from error
        expires = key.previous_secret_expires_at
        if json:
            payload = {
                "access_key_id": key.access_key_id,
                "secret_access_key": secret,
                "previous_secret_expires_at": expires.isoformat() if expires else None,
            }
            self.stdout.write(jsonlib.dumps(payload))
            return
        self.stdout.write(f"access_key_id:     {key.access_key_id}")
        self.stdout.write(f"secret_access_key: {secret}")
        self.stdout.write("The secret is shown only now; store it somewhere safe.")
        self.stdout.write(f"Servers accept it within {KEY_CACHE_SECONDS:g} s (they cache keys that long).")
        self.stdout.write(
            f"The old secret works until {expires:%Y-%m-%d %H:%M:%S} UTC."
            if expires
            else "The old secret no longer works."
        )
