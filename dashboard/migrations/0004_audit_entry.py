import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0003_api_key_rotation"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditEntry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("at", models.DateTimeField(default=django.utils.timezone.now)),
                ("actor", models.CharField(max_length=150)),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("redrive", "Redrive"),
                            ("purge", "Purge"),
                            ("replay_start", "Replay started"),
                            ("replay_cancel", "Replay cancelled"),
                            ("projection_rebuild", "Projection rebuild"),
                            ("projection_cancel_rebuild", "Projection rebuild cancelled"),
                            ("projection_retry", "Projection retried"),
                            ("projection_skip", "Projection event skipped"),
                            ("rule_create", "Rule created"),
                            ("rule_edit", "Rule edited"),
                            ("rule_enable", "Rule enabled"),
                            ("rule_disable", "Rule disabled"),
                            ("target_create", "Target created"),
                            ("target_edit", "Target edited"),
                            ("target_enable", "Target enabled"),
                            ("target_disable", "Target disabled"),
                            ("secret_rotate", "Signing secret rotated"),
                            ("key_create", "API key created"),
                            ("key_rotate", "API key secret rotated"),
                            ("key_revoke", "API key revoked"),
                        ],
                        max_length=32,
                    ),
                ),
                ("subject", models.CharField(help_text="What was acted on, in words.", max_length=300)),
                ("count", models.PositiveIntegerField(blank=True, help_text="How many things it touched.", null=True)),
                ("detail", models.JSONField(blank=True, default=dict)),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "audit entries",
                "ordering": ["-id"],
                "indexes": [models.Index(fields=["action", "-id"], name="audit_action_recent")],
            },
        ),
    ]
