from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0008_observability"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditentry",
            name="action",
            field=models.CharField(
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
                    ("target_pause", "Target paused"),
                    ("target_resume", "Target resumed"),
                    ("rule_delete", "Rule deleted"),
                    ("target_delete", "Target deleted"),
                    ("bus_delete", "Event bus deleted"),
                    ("connection_delete", "Connection deleted"),
                    ("destination_delete", "API destination deleted"),
                    ("secret_rotate", "Signing secret rotated"),
                    ("key_create", "API key created"),
                    ("key_rotate", "API key secret rotated"),
                    ("key_revoke", "API key revoked"),
                ],
                max_length=32,
            ),
        ),
    ]
