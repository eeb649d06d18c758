"""The audit log: who changed what from the dashboard, the admin or the API, and how many things it touched."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEntry(models.Model):
    """One operator action. Written by `dashboard.audit.record_audit` only; never changed afterwards."""

    class Action(models.TextChoices):
        REDRIVE = "redrive", "Redrive"
        PURGE = "purge", "Purge"
        REPLAY_START = "replay_start", "Replay started"
        REPLAY_CANCEL = "replay_cancel", "Replay cancelled"
        PROJECTION_REBUILD = "projection_rebuild", "Projection rebuild"
        PROJECTION_CANCEL_REBUILD = "projection_cancel_rebuild", "Projection rebuild cancelled"
        PROJECTION_RETRY = "projection_retry", "Projection retried"
        PROJECTION_SKIP = "projection_skip", "Projection event skipped"
        RULE_CREATE = "rule_create", "Rule created"
        RULE_EDIT = "rule_edit", "Rule edited"
        RULE_ENABLE = "rule_enable", "Rule enabled"
        RULE_DISABLE = "rule_disable", "Rule disabled"
        TARGET_CREATE = "target_create", "Target created"
        TARGET_EDIT = "target_edit", "Target edited"
        TARGET_ENABLE = "target_enable", "Target enabled"
        TARGET_DISABLE = "target_disable", "Target disabled"
        TARGET_PAUSE = "target_pause", "Target paused"
        TARGET_RESUME = "target_resume", "Target resumed"
        RULE_DELETE = "rule_delete", "Rule deleted"
        TARGET_DELETE = "target_delete", "Target deleted"
        BUS_DELETE = "bus_delete", "Event bus deleted"
        CONNECTION_DELETE = "connection_delete", "Connection deleted"
        DESTINATION_DELETE = "destination_delete", "API destination deleted"
        SECRET_ROTATE = "secret_rotate", "Signing secret rotated"
        KEY_CREATE = "key_create", "API key created"
        KEY_ROTATE = "key_rotate", "API key secret rotated"
        KEY_REVOKE = "key_revoke", "API key revoked"

    at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The name at the time (a user may be renamed or deleted later), or `api:<access key id>` for the API.
    actor = models.CharField(max_length=150)
    action = models.CharField(max_length=32, choices=Action.choices)
    subject = models.CharField(max_length=300, help_text="What was acted on, in words.")
    count = models.PositiveIntegerField(null=True, blank=True, help_text="How many things it touched.")
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["action", "-id"], name="audit_action_recent")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.subject}"

    @property
    def detail_text(self) -> str:
        """The details in one line, lists joined: "changed: url, headers · skipped: 0"."""
        return " · ".join(
            f"{name}: {', '.join(map(str, value)) if isinstance(value, list) else value}"
            for name, value in self.detail.items()
        )
