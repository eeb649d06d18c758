"""Django admin for the event-sourcing records: archives and bus retention are edited here; projection
states and replays are shown read-only (the projections and replays pages act on them)."""

from django.contrib import admin

from dashboard.models.streams import Archive, BusRetention, ProjectionState, Replay


@admin.register(Archive)
class ArchiveAdmin(admin.ModelAdmin):
    list_display = ("name", "bus", "event_pattern", "retention_days", "created_at")
    list_filter = ("bus",)


@admin.register(BusRetention)
class BusRetentionAdmin(admin.ModelAdmin):
    list_display = ("bus", "retention_days")


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ProjectionState)
class ProjectionStateAdmin(_ReadOnly):
    list_display = ("name", "status", "live_generation", "position", "events_applied", "rebuild_generation")

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting it would restart the projection over rows it already wrote; rebuild instead.
        return False


@admin.register(Replay)
class ReplayAdmin(_ReadOnly):
    list_display = ("name", "state", "bus", "event_start_time", "event_end_time", "events_replayed", "events_total")
    list_filter = ("state",)
