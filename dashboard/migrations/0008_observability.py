from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0007_schema_registry"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="traceparent",
            field=models.CharField(blank=True, max_length=55),
        ),
        migrations.AddField(
            model_name="event",
            name="tracestate",
            field=models.CharField(blank=True, max_length=512),
        ),
        migrations.AddField(
            model_name="event",
            name="attributes",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="target",
            name="payload_format",
            field=models.CharField(
                choices=[
                    ("eventbridge", "EventBridge envelope"),
                    ("cloudevents-structured", "CloudEvents, structured mode"),
                    ("cloudevents-binary", "CloudEvents, binary mode"),
                ],
                default="eventbridge",
                max_length=32,
            ),
        ),
    ]
