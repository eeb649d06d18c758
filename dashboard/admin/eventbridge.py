"""Admin pages for the EventBridge resources: event buses, connections and API destinations.

Connections and API destinations are shown read-only: they are changed through the EventBridge or native
API (dashboard/rules/configuration.py), which also updates the targets that copy their settings, and a
connection's secrets are never shown.
"""

from django.contrib import admin
from django.http import HttpRequest

from dashboard.models import ApiDestination, Connection, EventBus
from dashboard.rules import configuration


@admin.register(EventBus)
class EventBusAdmin(admin.ModelAdmin):
    list_display = ("name", "description", "created_at")
    search_fields = ("name", "description")
    readonly_fields = ("arn", "created_at", "updated_at")

    @admin.display(description="ARN")
    def arn(self, bus: EventBus) -> str:
        return configuration.bus_arn(bus.name)

    def has_delete_permission(self, request: HttpRequest, obj: EventBus | None = None) -> bool:
        return obj is None or obj.name != configuration.DEFAULT_BUS


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Connection)
class ConnectionAdmin(_ReadOnlyAdmin):
    list_display = ("name", "authorization_type", "state", "updated_at")
    fields = ("name", "arn", "description", "authorization_type", "state", "shown_parameters", "updated_at")
    readonly_fields = fields

    @admin.display(description="ARN")
    def arn(self, connection: Connection) -> str:
        return configuration.connection_arn(connection)

    @admin.display(description="Authorization (secrets hidden)")
    def shown_parameters(self, connection: Connection) -> dict:
        return configuration.shown_auth_parameters(connection)


@admin.register(ApiDestination)
class ApiDestinationAdmin(_ReadOnlyAdmin):
    list_display = ("name", "invocation_endpoint", "http_method", "connection", "invocation_rate_limit_per_second")
    fields = (
        "name",
        "arn",
        "description",
        "connection",
        "invocation_endpoint",
        "http_method",
        "invocation_rate_limit_per_second",
        "updated_at",
    )
    readonly_fields = fields

    @admin.display(description="ARN")
    def arn(self, destination: ApiDestination) -> str:
        return configuration.api_destination_arn(destination)
