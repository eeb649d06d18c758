"""The schema registry: one schema per (bus, source, detail-type), its immutable numbered versions, and the
events that broke it while validation only warned."""

from django.db import models
from django.utils import timezone


class ImmutableVersion(Exception):
    """Raised when code tries to change a registered schema version: versions are append-only."""


class EventSchema(models.Model):
    """What events of one kind on one bus look like, how new versions must relate to old ones, and whether
    publishing checks events against the latest version."""

    class Compatibility(models.TextChoices):
        BACKWARD = "BACKWARD"
        BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
        FORWARD = "FORWARD"
        FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
        FULL = "FULL"
        FULL_TRANSITIVE = "FULL_TRANSITIVE"
        NONE = "NONE"

    class Rules(models.TextChoices):
        STRICT = "strict"
        LENIENT = "lenient"

    class Validation(models.TextChoices):
        OFF = "off"
        WARN = "warn", "warn (store, flag and count)"
        ENFORCE = "enforce", "enforce (refuse the entry)"

    bus = models.CharField(max_length=64, default="default")
    source = models.CharField(max_length=256)
    detail_type = models.CharField(max_length=256)
    compatibility = models.CharField(max_length=32, choices=Compatibility.choices, default=Compatibility.BACKWARD)
    rules = models.CharField(
        max_length=16, choices=Rules.choices, default=Rules.STRICT, help_text="Strict or lenient compatibility rules."
    )
    validation = models.CharField(max_length=16, choices=Validation.choices, default=Validation.OFF)
    description = models.TextField(blank=True)
    warned_count = models.PositiveBigIntegerField(default=0, help_text="Events stored although they broke the schema.")
    refused_count = models.PositiveBigIntegerField(default=0, help_text="Entries refused for breaking the schema.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["bus", "source", "detail_type"]
        constraints = [
            models.UniqueConstraint(fields=["bus", "source", "detail_type"], name="event_schema_unique_kind")
        ]

    def __str__(self) -> str:
        return f"{self.bus}/{self.source}/{self.detail_type}"


class SchemaVersion(models.Model):
    """One registered JSON Schema of an EventSchema. Numbered from 1; never changed once stored."""

    class Origin(models.TextChoices):
        REGISTERED = "registered"
        DISCOVERED = "discovered"

    schema = models.ForeignKey(EventSchema, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    document = models.JSONField()
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the canonical document.")
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.REGISTERED)
    sample_event_id = models.CharField(
        max_length=64, blank=True, help_text="For a discovered version: an event that showed the new shape."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["schema", "number"]
        constraints = [models.UniqueConstraint(fields=["schema", "number"], name="schema_version_unique_number")]

    def __str__(self) -> str:
        return f"{self.schema} v{self.number}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ImmutableVersion(f"{self} is registered and cannot change")
        super().save(*args, **kwargs)


class SchemaViolation(models.Model):
    """An event stored while breaking its schema (validation `warn`): which event, where and which rule."""

    schema = models.ForeignKey(EventSchema, on_delete=models.CASCADE, related_name="violations")
    version = models.PositiveIntegerField()
    event_id = models.CharField(max_length=64, db_index=True)
    pointer = models.CharField(max_length=1024, help_text="JSON pointer into the event's detail.")
    rule = models.CharField(max_length=64, help_text="The schema keyword broken, e.g. `type` or `required`.")
    message = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["schema", "-created_at"], name="schema_violation_newest")]

    def __str__(self) -> str:
        return f"{self.event_id}: {self.rule} at {self.pointer}"


class SchemaDiscovery(models.Model):
    """Opt-in per bus: infer schemas from the events it carries (``manage.py discover_schemas``), off the
    publish path. ``position`` is how far the bus's events have been read."""

    bus = models.CharField(max_length=64, unique=True)
    enabled = models.BooleanField(default=True)
    position = models.BigIntegerField(default=0, help_text="The last event position read.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["bus"]
        verbose_name_plural = "schema discovery"

    def __str__(self) -> str:
        return f"discovery on {self.bus}"
