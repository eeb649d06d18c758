from django.db import models
from django.utils import timezone

from dashboard.lib.ids import new_event_id


class ImmutableRecord(Exception):
    """Raised when code tries to change a stored event: the log is append-only."""


class Event(models.Model):
    """One accepted event: the EventBridge envelope plus the stream coordinates used by event sourcing.

    `position` is the global log order (cursor pagination, `$all` subscriptions); `event_id` is the
    envelope's `id`, time-ordered when we generate it, or the producer's own for idempotent retries.
    """

    position = models.BigAutoField(primary_key=True)
    event_id = models.CharField(max_length=64, unique=True, default=new_event_id)
    bus = models.CharField(max_length=64, default="default")
    source = models.CharField(max_length=256)
    detail_type = models.CharField(max_length=256)
    detail = models.JSONField(default=dict)
    time = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    resources = models.JSONField(default=list, blank=True)
    account = models.CharField(max_length=12, blank=True)
    region = models.CharField(max_length=32, blank=True)
    trace_header = models.CharField(max_length=500, blank=True)
    # W3C Trace Context of the producer's request (or CloudEvents' distributed-tracing extension).
    traceparent = models.CharField(max_length=55, blank=True)
    tracestate = models.CharField(max_length=512, blank=True)
    # CloudEvents attributes the envelope has no field for (subject, dataschema, datacontenttype, extensions,
    # and the producer's own id), kept as received.
    attributes = models.JSONField(default=dict, blank=True)
    correlation_id = models.CharField(max_length=128, blank=True)
    causation_id = models.CharField(max_length=128, blank=True)
    aggregate_type = models.CharField(max_length=128, null=True, blank=True)
    aggregate_id = models.CharField(max_length=256, null=True, blank=True)
    version = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-position"]
        indexes = [
            models.Index(fields=["bus", "-position"], name="event_bus_newest"),
            models.Index(fields=["bus", "source", "-position"], name="event_bus_source_newest"),
            models.Index(fields=["bus", "detail_type", "-position"], name="event_bus_type_newest"),
            models.Index(fields=["bus", "time"], name="event_bus_time"),
            # The event stream's filters without a bus: without these the planner read a whole index (time)
            # or walked back past every newer event of a busy bus (source, detail-type).
            models.Index(fields=["time"], name="event_time"),
            models.Index(fields=["source", "-position"], name="event_source_newest"),
            models.Index(fields=["detail_type", "-position"], name="event_type_newest"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["aggregate_type", "aggregate_id", "version"], name="event_stream_version_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.detail_type} from {self.source} ({self.event_id})"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ImmutableRecord(f"event {self.event_id} is stored and cannot change")
        super().save(*args, **kwargs)

    @property
    def trace_id(self) -> str:
        """The W3C trace id of the producer's trace, or "" (shown on the event's page, to find the trace)."""
        return self.traceparent.split("-")[1] if self.traceparent else ""

    def envelope(self) -> dict:
        """The event as EventBridge shows it to rules and targets."""
        return {
            "version": "0",
            "id": self.event_id,
            "detail-type": self.detail_type,
            "source": self.source,
            "account": self.account,
            "time": self.time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.region,
            "resources": self.resources,
            "detail": self.detail,
        }
