import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


def write_owner_only(path: Path, text: str) -> None:
    """Write `text` to a new file that only its owner can read, from the moment it exists.

    A leftover file is replaced rather than rewritten, and O_EXCL refuses to follow a symlink planted there.
    """
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)


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
        # The file first: an account whose password was never written down could not be logged into.
        write_owner_only(path, password + "\n")
        users.objects.create_superuser(username=username, email="", password=password)
        self.stdout.write(f"Created admin account '{username}'; its password is in {path}")
