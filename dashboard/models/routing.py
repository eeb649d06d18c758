from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from dashboard.patterns import InvalidPattern, compile_pattern


def validate_event_pattern(text: str) -> None:
    try:
        compile_pattern(text)
    except InvalidPattern as error:
        raise ValidationError(str(error)) from error


class Rule(models.Model):
    """An EventBridge-style rule: an event pattern on a bus, routing matches to its targets."""

    class State(models.TextChoices):
        ENABLED = "enabled"
        DISABLED = "disabled"

    bus = models.CharField(max_length=64, default="default")
    name = models.CharField(max_length=64)
    description = models.TextField(blank=True)
    event_pattern = models.TextField(validators=[validate_event_pattern])
    state = models.CharField(max_length=16, choices=State.choices, default=State.ENABLED)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["bus", "name"]
        constraints = [models.UniqueConstraint(fields=["bus", "name"], name="rule_name_unique_per_bus")]

    def __str__(self) -> str:
        return f"{self.bus}/{self.name}"

    @property
    def is_enabled(self) -> bool:
        return self.state == self.State.ENABLED


class Target(models.Model):
    """Where a rule sends matching events: a webhook or an in-process Python handler."""

    class Kind(models.TextChoices):
        WEBHOOK = "webhook"
        PYTHON = "python"

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="targets")
    name = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.WEBHOOK)
    enabled = models.BooleanField(default=True)
    url = models.URLField(max_length=2000, blank=True)
    method = models.CharField(max_length=8, default="POST")
    headers = models.JSONField(default=dict, blank=True)
    signing_secret = models.CharField(max_length=128, blank=True)
    timeout_seconds = models.FloatField(default=5.0, validators=[MinValueValidator(0.1), MaxValueValidator(60)])
    max_concurrency = models.PositiveIntegerField(null=True, blank=True)
    rate_limit_per_second = models.FloatField(null=True, blank=True, validators=[MinValueValidator(0.01)])
    handler = models.CharField(max_length=200, blank=True, help_text="Dotted path to a callable(event).")
    input_path = models.CharField(max_length=256, blank=True)
    input_transformer = models.JSONField(
        null=True, blank=True, help_text='{"InputPathsMap": {...}, "InputTemplate": "..."}'
    )
    ordered_by = models.CharField(
        max_length=256, blank=True, help_text="JSON path such as detail.orderId: same key, one at a time."
    )
    maximum_retry_attempts = models.PositiveIntegerField(default=185, validators=[MaxValueValidator(185)])
    maximum_event_age_seconds = models.PositiveIntegerField(
        default=86_400, validators=[MinValueValidator(60), MaxValueValidator(86_400)]
    )
    dead_letter_enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["rule", "name"]
        constraints = [models.UniqueConstraint(fields=["rule", "name"], name="target_name_unique_per_rule")]

    def __str__(self) -> str:
        return f"{self.rule}/{self.name}"

    def clean(self) -> None:
        if self.kind == self.Kind.WEBHOOK and not self.url:
            raise ValidationError({"url": "A webhook target needs a URL."})
        if self.kind == self.Kind.PYTHON and not self.handler:
            raise ValidationError({"handler": "A python target needs the dotted path of a handler."})
