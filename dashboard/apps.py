from django.apps import AppConfig
from django.conf import settings
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate

from dashboard.delivery.handler_registry import load_handlers


class DashboardConfig(AppConfig):
    name = "dashboard"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dashboard import checks  # noqa: F401 - registers the settings checks
        from dashboard.lib.pg_timestamps import use_c_timestamp_loader
        from dashboard.lib.sqlite_files import restrict_sqlite_files
        from dashboard.ui.roles import ensure_operator_group

        load_handlers(settings.EVENTHUB["HANDLERS"])

        # After auth's own post_migrate handler has created the permissions (apps run in INSTALLED_APPS order).
        post_migrate.connect(ensure_operator_group, sender=self, dispatch_uid="dashboard.ensure_operator_group")
        connection_created.connect(restrict_sqlite_files, dispatch_uid="dashboard.restrict_sqlite_files")
        connection_created.connect(use_c_timestamp_loader, dispatch_uid="dashboard.use_c_timestamp_loader")
