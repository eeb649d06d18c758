import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0004_audit_entry")]

    operations = [
        migrations.RemoveIndex(model_name="delivery", name="delivery_due"),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(("state__in", ("pending", "in_flight", "retrying"))),
                fields=["state", "next_attempt_at"],
                name="delivery_due",
            ),
        ),
        migrations.RemoveIndex(model_name="delivery", name="delivery_state_completed"),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(("state", "dead")),
                fields=["state", "-completed_at"],
                name="delivery_state_completed",
            ),
        ),
        migrations.AddField(
            model_name="target",
            name="pause_failure_ratio",
            field=models.FloatField(
                default=1.0,
                help_text="1.0 = every attempt.",
                validators=[
                    django.core.validators.MinValueValidator(0.01),
                    django.core.validators.MaxValueValidator(1.0),
                ],
            ),
        ),
        migrations.AddField(
            model_name="target",
            name="pause_min_attempts",
            field=models.PositiveIntegerField(default=20, validators=[django.core.validators.MinValueValidator(1)]),
        ),
        migrations.AddField(
            model_name="target",
            name="pause_window_seconds",
            field=models.PositiveIntegerField(default=300, validators=[django.core.validators.MinValueValidator(1)]),
        ),
        migrations.AddField(model_name="target", name="paused_at", field=models.DateTimeField(blank=True, null=True)),
        migrations.AddField(
            model_name="target", name="paused_reason", field=models.CharField(blank=True, max_length=200)
        ),
        migrations.AddField(
            model_name="target", name="next_probe_at", field=models.DateTimeField(blank=True, null=True)
        ),
        migrations.AddField(model_name="target", name="failed_probes", field=models.PositiveIntegerField(default=0)),
        migrations.AddField(model_name="target", name="resumed_at", field=models.DateTimeField(blank=True, null=True)),
        migrations.AddField(
            model_name="target", name="resumed_reason", field=models.CharField(blank=True, max_length=200)
        ),
    ]
