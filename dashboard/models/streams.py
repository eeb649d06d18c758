"""Event-sourcing records: projection checkpoints and generations, replays, archives and bus retention."""

from django.conf import settings
from django.db import models
from django.db.models import QuerySet, Subquery
from django.utils import timezone

from .rules import validate_event_pattern


class ProjectionState(models.Model):
    """Where one projection stands in the global log, and which generation of its read model is live.

    `position` is the checkpoint: every event at or below it has been applied to `live_generation` (or
    did not concern the projection). A rebuild fills `rebuild_generation` from position 0 while the live
    generation keeps serving, then the pointer flips in one transaction (blue/green).
    """

    class Status(models.TextChoices):
        RUNNING = "running"
        FAILED = "failed"

    name = models.CharField(max_length=64, unique=True)
    live_generation = models.PositiveIntegerField(default=1)
    position = models.PositiveBigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    events_applied = models.PositiveBigIntegerField(default=0)
    last_applied_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    error_position = models.PositiveBigIntegerField(null=True, blank=True)
    error_event_id = models.CharField(max_length=64, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    rebuild_requested_at = models.DateTimeField(null=True, blank=True)
    rebuild_generation = models.PositiveIntegerField(null=True, blank=True)
    rebuild_position = models.PositiveBigIntegerField(default=0)
    rebuild_started_at = models.DateTimeField(null=True, blank=True)
    rebuild_error = models.TextField(blank=True)
    rebuilt_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"projection {self.name} at {self.position}"

    @property
    def is_rebuilding(self) -> bool:
        return self.rebuild_generation is not None


class ReadModel(models.Model):
    """Base of projection read models. Rows of two generations can coexist during a rebuild; readers use
    `live()`, which picks the live generation in the same statement, so a swap is atomic for them."""

    projection_name: str = ""

    generation = models.PositiveIntegerField()

    class Meta:
        abstract = True

    @classmethod
    def live(cls) -> QuerySet:
        pointer = ProjectionState.objects.filter(name=cls.projection_name).values("live_generation")[:1]
        return cls.objects.filter(generation=Subquery(pointer))


class Archive(models.Model):
    """Events of a bus (optionally only those matching a pattern) kept for `retention_days` (0: forever),
    even when the bus's own retention is shorter. Replays can take their events from an archive."""

    name = models.SlugField(max_length=64, unique=True)
    bus = models.CharField(max_length=64, default="default")
    description = models.TextField(blank=True)
    event_pattern = models.TextField(blank=True, validators=[validate_event_pattern])
    retention_days = models.PositiveIntegerField(default=0, help_text="0 keeps the archived events forever.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class BusRetention(models.Model):
    """How long a bus keeps its events. A bus without a row keeps them forever; stream events (those with
    an aggregate) are never purged because aggregates and projection rebuilds fold their whole history."""

    bus = models.CharField(max_length=64, unique=True)
    retention_days = models.PositiveIntegerField(help_text="Events older than this many days are purged.")

    class Meta:
        ordering = ["bus"]
        verbose_name = "bus retention"

    def __str__(self) -> str:
        return f"{self.bus}: {self.retention_days} days"


class Replay(models.Model):
    """Re-sending the events of a time window through the current rules (or only chosen rules/targets),
    rate-limited. Its definition is fixed at creation, including the highest position it may replay,
    so the count confirmed before the start is what it sends."""

    class State(models.TextChoices):
        STARTING = "starting"
        RUNNING = "running"
        COMPLETED = "completed"
        CANCELLED = "cancelled"
        FAILED = "failed"

    ACTIVE_STATES = (State.STARTING, State.RUNNING)

    name = models.SlugField(max_length=64, unique=True)
    description = models.TextField(blank=True)
    bus = models.CharField(max_length=64, default="default")
    archive_name = models.CharField(max_length=64, blank=True)
    archive_pattern = models.TextField(blank=True)
    event_pattern = models.TextField(blank=True, validators=[validate_event_pattern])
    event_start_time = models.DateTimeField()
    event_end_time = models.DateTimeField()
    rule_ids = models.JSONField(default=list, blank=True)
    target_ids = models.JSONField(default=list, blank=True)
    rate_per_second = models.FloatField(default=100.0)
    position_ceiling = models.PositiveBigIntegerField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.STARTING)
    state_reason = models.TextField(blank=True)
    events_total = models.PositiveBigIntegerField(default=0)
    events_replayed = models.PositiveBigIntegerField(default=0)
    deliveries_created = models.PositiveBigIntegerField(default=0)
    cursor_position = models.PositiveBigIntegerField(default=0)
    last_replayed_time = models.DateTimeField(null=True, blank=True)
    tokens = models.FloatField(default=0.0)
    last_step_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "created_at"], name="replay_state_created")]

    def __str__(self) -> str:
        return f"replay {self.name} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE_STATES

    @property
    def percent_done(self) -> int:
        if self.state == self.State.COMPLETED:
            return 100
        if not self.events_total:
            return 0
        return min(100, int(100 * self.events_replayed / self.events_total))
