"""Indexes for a large store (docs/benchmarks/scale.md): built CONCURRENTLY on PostgreSQL, so publishing
goes on while ten million events are indexed; a plain CREATE INDEX elsewhere (SQLite)."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models
from django.db.migrations.operations import AddIndex


class AddIndexOnline(AddIndexConcurrently):
    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("dashboard", "0009_audit_more_actions"),
    ]

    operations = [
        AddIndexOnline(
            model_name="event",
            index=models.Index(fields=["time"], name="event_time"),
        ),
        AddIndexOnline(
            model_name="event",
            index=models.Index(fields=["source", "-position"], name="event_source_newest"),
        ),
        AddIndexOnline(
            model_name="event",
            index=models.Index(fields=["detail_type", "-position"], name="event_type_newest"),
        ),
        AddIndexOnline(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(("dead_lettered", True), ("state", "dead")),
                fields=["target", "dead_reason", "last_status_code", "completed_at", "rule", "id"],
                name="delivery_dead_letter_groups",
            ),
        ),
    ]
