"""Create EventHub's tables in DATABASE_URL from the models, as pytest-django's --nomigrations does.

DATABASE_URL=... python -m chaos.schema
"""

import django
from django.conf import settings
from django.core.management import call_command


class _NoMigrations(dict):
    def __contains__(self, item: object) -> bool:
        return True

    def __getitem__(self, item: str) -> None:
        return None


def main() -> None:
    settings.MIGRATION_MODULES = _NoMigrations()
    django.setup()
    call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)


if __name__ == "__main__":
    main()
