import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from dashboard.ids import uuid7

from .events import Event
from .routing import Rule, Target


class Delivery(models.Model):
    """One event on its way to one target. Its id is the stable `webhook-id` receivers de-duplicate on."""

    class State(models.TextChoices):
        PENDING = "pending"
        IN_FLIGHT = "in_flight"
        RETRYING = "retrying"
        SUCCEEDED = "succeeded"
        DEAD = "dead"
        CANCELLED = "cancelled"

    ACTIVE_STATES = (State.PENDING, State.IN_FLIGHT, State.RETRYING)

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    rule = models.ForeignKey(Rule, null=True, on_delete=models.SET_NULL, related_name="deliveries")
    target = models.ForeignKey(Target, null=True, on_delete=models.SET_NULL, related_name="deliveries")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    worker_losses = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    order_key = models.CharField(max_length=256, blank=True)
    replay_name = models.CharField(max_length=64, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    dead_reason = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    redrive_count = models.PositiveIntegerField(default=0)
    redriven_at = models.DateTimeField(null=True, blank=True)
    redriven_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["target", "state"], name="delivery_target_state"),
            models.Index(fields=["state", "-updated_at"], name="delivery_state_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.state})"

    @property
    def webhook_id(self) -> str:
        return f"msg_{uuid.UUID(str(self.id)).hex}"


class DeliveryAttempt(models.Model):
    """One try of a delivery, written before the work is acknowledged in Redis."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.FloatField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)
    request_headers = models.JSONField(default=dict, blank=True)
    worker = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="attempt_number_unique_per_delivery")
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"
