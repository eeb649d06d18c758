import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from dashboard.lib.ids import uuid7

from .events import Event
from .rules import Rule, Target


class Delivery(models.Model):
    """One event on its way to one target. Its id is the stable `webhook-id` receivers de-duplicate on.

    While a worker holds a delivery (`in_flight`), `next_attempt_at` is the end of its lease: past it,
    the worker is presumed dead and another may take the delivery over (counted in `worker_losses`).
    """

    class State(models.TextChoices):
        PENDING = "pending"
        IN_FLIGHT = "in_flight"
        RETRYING = "retrying"
        SUCCEEDED = "succeeded"
        DEAD = "dead"
        CANCELLED = "cancelled"

    class DeadReason(models.TextChoices):
        NON_RETRIABLE_STATUS = "non_retriable_status"
        REDIRECT = "redirect_not_followed"
        DESTINATION_REFUSED = "destination_refused"
        MAXIMUM_RETRY_ATTEMPTS = "maximum_retry_attempts"
        MAXIMUM_EVENT_AGE = "maximum_event_age"
        WORKER_LOST = "worker_lost"
        TARGET_DELETED = "target_deleted"
        TARGET_DISABLED = "target_disabled"
        TRANSFORM_FAILED = "transform_failed"

    ACTIVE_STATES = (State.PENDING, State.IN_FLIGHT, State.RETRYING)
    TERMINAL_STATES = (State.SUCCEEDED, State.DEAD, State.CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    rule = models.ForeignKey(Rule, null=True, on_delete=models.SET_NULL, related_name="deliveries")
    target = models.ForeignKey(Target, null=True, on_delete=models.SET_NULL, related_name="deliveries")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0, help_text="Attempts since routing or the last redrive.")
    worker_losses = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_token = models.CharField(max_length=32, blank=True)
    order_key = models.CharField(max_length=256, blank=True)
    replay_name = models.CharField(max_length=64, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    dead_reason = models.CharField(max_length=32, choices=DeadReason.choices, blank=True)
    # False when the target's dead-letter setting was off at exhaustion: kept as history, not listed as a DLQ item.
    dead_lettered = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    redrive_count = models.PositiveIntegerField(default=0)
    redriven_at = models.DateTimeField(null=True, blank=True)
    redriven_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    redriven_by_name = models.CharField(max_length=150, blank=True, help_text="User name or API key id.")

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-created_at"]
        permissions = [("redrive_delivery", "Can redrive and purge dead letters")]
        indexes = [
            # Partial where only some states are queried: every state change rewrites each index that
            # holds the row, and a finished delivery (nearly every row) is then in neither of these two.
            models.Index(
                fields=["state", "next_attempt_at"],
                name="delivery_due",
                condition=Q(state__in=("pending", "in_flight", "retrying")),
            ),
            models.Index(fields=["target", "state"], name="delivery_target_state"),
            models.Index(fields=["state", "-updated_at"], name="delivery_state_recent"),
            models.Index(fields=["state", "-completed_at"], name="delivery_state_completed", condition=Q(state="dead")),
            # Dead letters counted and grouped (overview, triage) from the index alone, not from scattered rows.
            models.Index(
                fields=["target", "dead_reason", "last_status_code", "completed_at", "rule", "id"],
                name="delivery_dead_letter_groups",
                condition=Q(state="dead", dead_lettered=True),
            ),
            models.Index(
                fields=["target", "order_key", "event"], name="delivery_order_group", condition=~Q(order_key="")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.state})"

    @property
    def webhook_id(self) -> str:
        return webhook_id(self.id)

    @property
    def age_started_at(self):
        """Where the maximum event age counts from: routing, or the latest redrive."""
        return self.redriven_at or self.created_at


def webhook_id(delivery_id: uuid.UUID | str) -> str:
    """The Standard Webhooks `webhook-id` of a delivery: stable across retries and redrives."""
    if not isinstance(delivery_id, uuid.UUID):
        delivery_id = uuid.UUID(delivery_id)
    return f"msg_{delivery_id.hex}"


class DeliveryAttempt(models.Model):
    """One try of a delivery, written before the work is acknowledged in Redis.

    `round` is the delivery's redrive count when the attempt was made, so numbering restarts after a
    redrive while the earlier attempts stay in the history.
    """

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    target = models.ForeignKey(Target, null=True, blank=True, on_delete=models.SET_NULL, related_name="attempts")
    round = models.PositiveIntegerField(default=0)
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.FloatField(default=0)
    succeeded = models.BooleanField(default=False)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)
    request_headers = models.JSONField(default=dict, blank=True)
    worker = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["delivery", "round", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["delivery", "round", "number"], name="attempt_number_unique_per_delivery_round"
            )
        ]
        indexes = [models.Index(fields=["target", "-started_at"], name="attempt_target_recent")]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"
