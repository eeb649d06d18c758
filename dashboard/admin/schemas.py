"""Django admin for the schema registry: schemas and their modes are edited here, versions are registered
through the same checks as the API (an incompatible version is refused with its changes), violations are
shown read-only with a link to the event."""

import json
from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from dashboard.models import Event, EventSchema, SchemaDiscovery, SchemaVersion, SchemaViolation
from dashboard.schemas import InvalidSchema, SchemaTooComplex
from dashboard.schemas.discovery import enable_discovery
from dashboard.schemas.registry import Kind, check_candidate, configure, register_version


def _kind(schema: EventSchema) -> Kind:
    return Kind(schema.bus, schema.source, schema.detail_type)


def _pretty(document: object) -> str:
    return format_html("<pre>{}</pre>", json.dumps(document, indent=2, sort_keys=True))


class SchemaVersionInline(admin.TabularInline):
    model = SchemaVersion
    fields = ("number", "created_at", "schema_document")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="schema")
    def schema_document(self, version: SchemaVersion) -> str:
        return _pretty(version.document)


@admin.register(EventSchema)
class EventSchemaAdmin(admin.ModelAdmin):
    list_display = (
        "bus",
        "source",
        "detail_type",
        "compatibility",
        "rules",
        "validation",
        "latest_version",
        "warned_count",
        "refused_count",
    )
    list_filter = ("bus", "compatibility", "validation")
    search_fields = ("source", "detail_type")
    readonly_fields = ("warned_count", "refused_count", "created_at", "updated_at")
    inlines = [SchemaVersionInline]

    def get_readonly_fields(self, request, obj=None) -> tuple:
        kind = ("bus", "source", "detail_type") if obj else ()
        return kind + self.readonly_fields

    @admin.display(description="latest version")
    def latest_version(self, schema: EventSchema) -> int:
        return schema.versions.count()

    def save_model(self, request, obj: EventSchema, form, change: bool) -> None:
        if change:
            # Through the registry, so every process reads the new validation setting at once.
            configure(_kind(obj), compatibility=obj.compatibility, rules=obj.rules, validation=obj.validation)
            EventSchema.objects.filter(pk=obj.pk).update(description=obj.description)
        else:
            super().save_model(request, obj, form, change)


class SchemaVersionForm(forms.ModelForm):
    document = forms.JSONField(help_text="The JSON Schema of the event's detail.")

    class Meta:
        model = SchemaVersion
        fields = ("schema", "document")

    def clean(self) -> dict:
        cleaned = super().clean()
        schema, document = cleaned.get("schema"), cleaned.get("document")
        if schema is not None and "document" in cleaned:
            try:
                problems = check_candidate(_kind(schema), document)
            except (InvalidSchema, SchemaTooComplex) as error:
                raise ValidationError({"document": str(error)}) from None
            if problems:
                raise ValidationError(
                    {"document": [f"Breaks {schema.compatibility} ({schema.rules}): {p}" for p in problems]}
                )
        return cleaned


@admin.register(SchemaVersion)
class SchemaVersionAdmin(admin.ModelAdmin):
    form = SchemaVersionForm
    list_display = ("schema", "number", "origin", "sample_event_id", "created_at")
    list_filter = ("schema__bus",)
    search_fields = ("schema__source", "schema__detail_type")

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None

    def get_readonly_fields(self, request, obj=None) -> tuple:
        return ("schema", "number", "origin", "sample_event_id", "created_at", "pretty_document") if obj else ()

    def get_fields(self, request, obj=None) -> tuple:
        return self.get_readonly_fields(request, obj) if obj else ("schema", "document")

    @admin.display(description="schema document")
    def pretty_document(self, version: SchemaVersion) -> str:
        return _pretty(version.document)

    def save_model(self, request, obj: SchemaVersion, form, change: bool) -> None:
        version, _ = register_version(_kind(obj.schema), form.cleaned_data["document"])
        obj.pk, obj.number = version.pk, version.number
        obj._state.adding = False


@admin.register(SchemaViolation)
class SchemaViolationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "schema", "version", "event_link", "pointer", "rule", "message")
    list_filter = ("schema__bus", "rule")
    search_fields = ("event_id", "schema__source", "schema__detail_type")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="event")
    def event_link(self, violation: SchemaViolation) -> str:
        url = (
            reverse(f"admin:dashboard_{Event._meta.model_name}_changelist")
            + "?"
            + urlencode({"event_id": violation.event_id})
        )
        return format_html('<a href="{}">{}</a>', url, violation.event_id)


@admin.register(SchemaDiscovery)
class SchemaDiscoveryAdmin(admin.ModelAdmin):
    list_display = ("bus", "enabled", "position", "updated_at")
    fields = ("bus", "enabled")

    def get_readonly_fields(self, request, obj=None) -> tuple:
        return ("bus",) if obj else ()

    def save_model(self, request, obj: SchemaDiscovery, form, change: bool) -> None:
        if obj.enabled and not (change and SchemaDiscovery.objects.filter(pk=obj.pk, enabled=True).exists()):
            # Starting (or restarting) discovery begins at the bus's next event, as enable_discovery does.
            discovery = enable_discovery(obj.bus)
            obj.pk, obj.position = discovery.pk, discovery.position
            obj._state.adding = False
        else:
            super().save_model(request, obj, form, change)
