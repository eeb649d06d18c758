import base64
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from dashboard.delivery.handler_registry import HandlerNotRegistered, get_handler
from dashboard.patterns import InvalidPattern, compile_pattern


def validate_event_pattern(text: str) -> None:
    try:
        compile_pattern(text)
    except InvalidPattern as error:
        raise ValidationError(str(error)) from error


def new_signing_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64, unique per target."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def validate_headers(value: object) -> None:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValidationError('Headers must be a JSON object of strings, for example {"Authorization": "Bearer x"}.')
    reserved = sorted(k for k in value if k.lower().startswith("webhook-") or k.lower() in _RESERVED_HEADERS)
    if reserved:
        raise ValidationError(f"These headers are set by EventHub and cannot be configured: {', '.join(reserved)}.")


_RESERVED_HEADERS = {"content-type", "content-length", "host", "user-agent", "transfer-encoding", "connection"}


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
    # A scheduled rule (dashboard/rules/scheduling.py) matches the "Scheduled Event" published for it at each tick.
    schedule_expression = models.CharField(max_length=256, blank=True, help_text="rate(...) or cron(...), UTC.")
    next_fire_at = models.DateTimeField(null=True, blank=True, editable=False)
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


# A worker holds a delivery at most this long per attempt; the visibility timeout must exceed it (dashboard.checks).
MAX_TIMEOUT_SECONDS = 60


class Target(models.Model):
    """Where a rule sends matching events: a webhook or an in-process Python handler."""

    class Kind(models.TextChoices):
        WEBHOOK = "webhook"
        PYTHON = "python"

    class Method(models.TextChoices):
        POST = "POST"
        PUT = "PUT"
        PATCH = "PATCH"

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="targets")
    name = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.WEBHOOK)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True, help_text="Why the worker disabled it.")
    disabled_at = models.DateTimeField(null=True, blank=True)
    url = models.URLField(max_length=2000, blank=True)
    method = models.CharField(max_length=8, choices=Method.choices, default=Method.POST)
    headers = models.JSONField(default=dict, blank=True, validators=[validate_headers])
    signing_secret = models.CharField(
        max_length=128, default=new_signing_secret, help_text="Standard Webhooks secret (whsec_...)."
    )
    timeout_seconds = models.FloatField(
        default=5.0, validators=[MinValueValidator(0.1), MaxValueValidator(MAX_TIMEOUT_SECONDS)]
    )
    max_concurrency = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)], help_text="Requests at once, per worker process."
    )
    rate_limit_per_second = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0.01)], help_text="Across all workers."
    )
    handler = models.CharField(max_length=200, blank=True, help_text="Dotted path to a callable(event).")
    input_path = models.CharField(max_length=256, blank=True, help_text="JSON path such as $.detail.")
    input_transformer = models.JSONField(
        null=True, blank=True, help_text='{"InputPathsMap": {...}, "InputTemplate": "..."}'
    )
    ordered_by = models.CharField(
        max_length=256, blank=True, help_text="JSON path such as detail.orderId: same key, one at a time."
    )
    # What a webhook receives: the EventBridge envelope, or a CloudEvent (dashboard/delivery/cloudevents.py).
    payload_format = models.CharField(
        max_length=32,
        default="eventbridge",
        choices=[
            ("eventbridge", "EventBridge envelope"),
            ("cloudevents-structured", "CloudEvents, structured mode"),
            ("cloudevents-binary", "CloudEvents, binary mode"),
        ],
    )
    maximum_retry_attempts = models.PositiveIntegerField(default=185, validators=[MaxValueValidator(185)])
    maximum_event_age_seconds = models.PositiveIntegerField(
        default=86_400, validators=[MinValueValidator(60), MaxValueValidator(86_400)]
    )
    dead_letter_enabled = models.BooleanField(default=True)
    # Automatic pause (dashboard/delivery/pausing.py): a target failing this share of at least this many
    # attempts within the window is paused; its deliveries wait, one probe at a time tests it.
    pause_failure_ratio = models.FloatField(
        default=1.0, validators=[MinValueValidator(0.01), MaxValueValidator(1.0)], help_text="1.0 = every attempt."
    )
    pause_min_attempts = models.PositiveIntegerField(default=20, validators=[MinValueValidator(1)])
    pause_window_seconds = models.PositiveIntegerField(default=300, validators=[MinValueValidator(1)])
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_reason = models.CharField(max_length=200, blank=True)
    next_probe_at = models.DateTimeField(null=True, blank=True)
    failed_probes = models.PositiveIntegerField(default=0)
    resumed_at = models.DateTimeField(null=True, blank=True)
    resumed_reason = models.CharField(max_length=200, blank=True)
    # Set through the EventBridge API (dashboard/rules/configuration.py): the ARN the target was put with, and for
    # an API destination's ARN, the destination it copies and its connection's authorization headers.
    arn = models.CharField(max_length=1600, blank=True, help_text="The ARN given to PutTargets.")
    api_destination = models.ForeignKey(
        "dashboard.ApiDestination", null=True, blank=True, on_delete=models.PROTECT, related_name="targets"
    )
    auth_headers = models.JSONField(default=dict, blank=True, editable=False)
    http_parameters = models.JSONField(null=True, blank=True, editable=False)
    dead_letter_arn = models.CharField(max_length=1600, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["rule", "name"]
        constraints = [models.UniqueConstraint(fields=["rule", "name"], name="target_name_unique_per_rule")]

    def __str__(self) -> str:
        return f"{self.rule}/{self.name}"

    def save(self, *args, **kwargs) -> None:
        if self.enabled:  # re-enabled by an operator: the worker's reason no longer holds
            self.disabled_reason, self.disabled_at = "", None
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if self.kind == self.Kind.WEBHOOK and not self.url:
            raise ValidationError({"url": "A webhook target needs a URL."})
        if self.kind == self.Kind.WEBHOOK and self.url and not self.url.lower().startswith(("http://", "https://")):
            raise ValidationError({"url": "A webhook URL must start with http:// or https://."})
        if self.kind == self.Kind.PYTHON:
            if not self.handler:
                raise ValidationError({"handler": "A python target needs one of the registered handlers."})
            try:
                get_handler(self.handler)
            except HandlerNotRegistered as error:
                raise ValidationError({"handler": str(error)}) from error
        if self.input_path and self.input_transformer:
            raise ValidationError({"input_path": "Use an input path or an input transformer, not both."})

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None
