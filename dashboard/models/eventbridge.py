"""Resources of the EventBridge management API: event buses, connections, API destinations and tags.

Rules, targets, archives and replays have their own models; these fill the gaps EventBridge users expect.
Rules and events still name their bus by its name, so a bus row describes a bus rather than owning rows.
"""

import uuid

from django.db import models
from django.utils import timezone


class EventBus(models.Model):
    """A named bus. `default` always exists; rules may only be put on a bus that exists."""

    name = models.CharField(max_length=64, unique=True)
    description = models.CharField(max_length=512, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "event buses"

    def __str__(self) -> str:
        return self.name


class Connection(models.Model):
    """How to authorize requests to API destinations: an API key header, basic auth or OAuth client
    credentials. `auth_parameters` holds the secrets; APIs and the admin never show them."""

    class AuthorizationType(models.TextChoices):
        API_KEY = "API_KEY"
        BASIC = "BASIC"
        OAUTH_CLIENT_CREDENTIALS = "OAUTH_CLIENT_CREDENTIALS"

    class State(models.TextChoices):
        AUTHORIZED = "AUTHORIZED"
        DEAUTHORIZED = "DEAUTHORIZED"

    name = models.CharField(max_length=64, unique=True)
    uid = models.UUIDField(default=uuid.uuid4, editable=False, help_text="Part of the ARN, as in AWS.")
    description = models.CharField(max_length=512, blank=True)
    authorization_type = models.CharField(max_length=32, choices=AuthorizationType.choices)
    auth_parameters = models.JSONField(default=dict)
    state = models.CharField(max_length=16, choices=State.choices, default=State.AUTHORIZED)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    last_authorized_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ApiDestination(models.Model):
    """An HTTP endpoint with its method, rate limit and connection. A rule target naming its ARN becomes a
    webhook target that copies these settings and sends the connection's authorization headers."""

    class Method(models.TextChoices):
        # EventHub sends the event as the request body, so only methods with a body (AWS also allows GET...).
        POST = "POST"
        PUT = "PUT"
        PATCH = "PATCH"

    name = models.CharField(max_length=64, unique=True)
    uid = models.UUIDField(default=uuid.uuid4, editable=False, help_text="Part of the ARN, as in AWS.")
    description = models.CharField(max_length=512, blank=True)
    connection = models.ForeignKey(Connection, on_delete=models.PROTECT, related_name="api_destinations")
    invocation_endpoint = models.URLField(max_length=2048)
    http_method = models.CharField(max_length=8, choices=Method.choices)
    invocation_rate_limit_per_second = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "API destination"

    def __str__(self) -> str:
        return self.name


class ResourceTag(models.Model):
    """A tag on any resource, keyed by its ARN (TagResource, ListTagsForResource)."""

    resource_arn = models.CharField(max_length=1600)
    key = models.CharField(max_length=128)
    value = models.CharField(max_length=256, blank=True)

    class Meta:
        ordering = ["resource_arn", "key"]
        constraints = [models.UniqueConstraint(fields=["resource_arn", "key"], name="tag_key_unique_per_resource")]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"
