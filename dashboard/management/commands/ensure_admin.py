import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the first admin account if there is no superuser yet; its password goes to a file."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password-file", default=str(Path(settings.BASE_DIR) / ".eventhub-admin-password"))

    def handle(self, *args, username: str, password_file: str, **options) -> None:
        users = get_user_model()
        path = Path(password_file)
        if users.objects.filter(is_superuser=True).exists():
            if path.exists():
                self.stdout.write(f"Admin login: {username} / password in {path}")
            return
        password = secrets.token_urlsafe(12)
        users.objects.create_superuser(username=username, email="", password=password)
        path.write_text(password + "\n")
        path.chmod(0o600)
        self.stdout.write(f"Created admin account '{username}'; its password is in {path}")
