from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DashboardConfig(AppConfig):
    name = "dashboard"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dashboard.roles import ensure_operator_group

        # After auth's own post_migrate handler has created the permissions (apps run in INSTALLED_APPS order).
        post_migrate.connect(ensure_operator_group, sender=self, dispatch_uid="dashboard.ensure_operator_group")
