import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0006_eventbridge_resources")]

    operations = [
        migrations.CreateModel(
            name="EventSchema",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("bus", models.CharField(default="default", max_length=64)),
                ("source", models.CharField(max_length=256)),
                ("detail_type", models.CharField(max_length=256)),
                (
                    "compatibility",
                    models.CharField(
                        choices=[
                            ("BACKWARD", "Backward"),
                            ("BACKWARD_TRANSITIVE", "Backward Transitive"),
                            ("FORWARD", "Forward"),
                            ("FORWARD_TRANSITIVE", "Forward Transitive"),
                            ("FULL", "Full"),
                            ("FULL_TRANSITIVE", "Full Transitive"),
                            ("NONE", "None"),
                        ],
                        default="BACKWARD",
                        max_length=32,
                    ),
                ),
                (
                    "rules",
                    models.CharField(
                        choices=[("strict", "Strict"), ("lenient", "Lenient")],
                        default="strict",
                        help_text="Strict or lenient compatibility rules.",
                        max_length=16,
                    ),
                ),
                (
                    "validation",
                    models.CharField(
                        choices=[
                            ("off", "Off"),
                            ("warn", "warn (store, flag and count)"),
                            ("enforce", "enforce (refuse the entry)"),
                        ],
                        default="off",
                        max_length=16,
                    ),
                ),
                ("description", models.TextField(blank=True)),
                (
                    "warned_count",
                    models.PositiveBigIntegerField(
                        default=0, help_text="Events stored although they broke the schema."
                    ),
                ),
                (
                    "refused_count",
                    models.PositiveBigIntegerField(default=0, help_text="Entries refused for breaking the schema."),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "ordering": ["bus", "source", "detail_type"],
                "constraints": [
                    models.UniqueConstraint(fields=("bus", "source", "detail_type"), name="event_schema_unique_kind")
                ],
            },
        ),
        migrations.CreateModel(
            name="SchemaDiscovery",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("bus", models.CharField(max_length=64, unique=True)),
                ("enabled", models.BooleanField(default=True)),
                ("position", models.BigIntegerField(default=0, help_text="The last event position read.")),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={"ordering": ["bus"], "verbose_name_plural": "schema discovery"},
        ),
        migrations.CreateModel(
            name="SchemaVersion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("number", models.PositiveIntegerField()),
                ("document", models.JSONField()),
                ("fingerprint", models.CharField(help_text="SHA-256 of the canonical document.", max_length=64)),
                (
                    "origin",
                    models.CharField(
                        choices=[("registered", "Registered"), ("discovered", "Discovered")],
                        default="registered",
                        max_length=16,
                    ),
                ),
                (
                    "sample_event_id",
                    models.CharField(
                        blank=True,
                        help_text="For a discovered version: an event that showed the new shape.",
                        max_length=64,
                    ),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "schema",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="versions", to="dashboard.eventschema"
                    ),
                ),
            ],
            options={
                "ordering": ["schema", "number"],
                "constraints": [
                    models.UniqueConstraint(fields=("schema", "number"), name="schema_version_unique_number")
                ],
            },
        ),
        migrations.CreateModel(
            name="SchemaViolation",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("version", models.PositiveIntegerField()),
                ("event_id", models.CharField(db_index=True, max_length=64)),
                ("pointer", models.CharField(help_text="JSON pointer into the event's detail.", max_length=1024)),
                (
                    "rule",
                    models.CharField(help_text="The schema keyword broken, e.g. `type` or `required`.", max_length=64),
                ),
                ("message", models.TextField()),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "schema",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="violations",
                        to="dashboard.eventschema",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "indexes": [models.Index(fields=["schema", "-created_at"], name="schema_violation_newest")],
            },
        ),
    ]
