"""Django admin: events (read-only: the log is immutable), API keys, rules and targets."""

from django.contrib import admin, messages

from dashboard.models import ApiKey, Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("position", "event_id", "bus", "source", "detail_type", "time", "received_at")
    list_filter = ("bus",)
    search_fields = ("event_id", "source", "detail_type", "aggregate_id", "correlation_id")
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "access_key_id", "scopes", "created_at", "revoked_at")
    fields = ("name", "scopes", "access_key_id", "created_at", "revoked_at")
    readonly_fields = ("access_key_id", "created_at", "revoked_at")
    actions = ["revoke"]

    def save_model(self, request, obj: ApiKey, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        key, secret = ApiKey.issue(obj.name, list(obj.scopes or ["publish"]))
        obj.pk, obj.access_key_id = key.pk, key.access_key_id
        messages.warning(request, f"Secret access key for {key.access_key_id} (shown once, store it now): {secret}")

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset) -> None:
        for key in queryset.filter(revoked_at__isnull=True):
            key.revoke()
