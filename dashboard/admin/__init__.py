"""Django admin: events (read-only: the log is immutable), API keys, rules with their targets, targets, and
deliveries (read-only, with redrive and purge of dead letters)."""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path

import dashboard.admin.eventbridge  # noqa: F401 - registers buses, connections and API destinations
import dashboard.admin.schemas  # noqa: F401 - registers the schema registry models
from dashboard.admin import streams  # noqa: F401 - registers the event-sourcing models
from dashboard.api.auth import KEY_CACHE_SECONDS
from dashboard.audit import Action, record_audit
from dashboard.delivery import transform
from dashboard.delivery.handler_registry import registered_handlers
from dashboard.delivery.redrive import dry_run_redrive, purge_dead_letters, redrive_dead_letters
from dashboard.models import ApiKey, Delivery, DeliveryAttempt, Event, Rule, Target
from dashboard.rules import operator_actions
from dashboard.ui.pattern_preview import preview_pattern
from dashboard.ui.roles import is_operator


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


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=[(scope, scope) for scope in ApiKey.SCOPES],
        widget=forms.CheckboxSelectMultiple,
        initial=["publish"],
        help_text="admin includes the other two.",
    )

    class Meta:
        model = ApiKey
        fields = ("name", "scopes")

    def clean_scopes(self) -> list[str]:
        return sorted(self.cleaned_data["scopes"])


class RotateKeysForm(forms.Form):
    grace_hours = forms.FloatField(
        min_value=0,
        max_value=24 * 365,
        label="Old secret keeps working for (hours)",
        help_text="0 cuts it off now, as for a leaked secret.",
    )


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = ("name", "access_key_id", "scopes", "created_at", "rotated_at", "revoked_at")
    fields = ("name", "scopes", "access_key_id", "created_at", "rotated_at", "previous_secret_expires_at", "revoked_at")
    readonly_fields = ("access_key_id", "created_at", "rotated_at", "previous_secret_expires_at", "revoked_at")
    actions = ["revoke", "rotate"]

    def save_model(self, request, obj: ApiKey, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        key, secret = operator_actions.issue_api_key(obj.name, list(obj.scopes or ["publish"]), user=request.user)
        obj.pk, obj.access_key_id = key.pk, key.access_key_id
        messages.warning(request, f"Secret access key for {key.access_key_id} (shown once, store it now): {secret}")

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset) -> None:
        for key in queryset.filter(revoked_at__isnull=True):
            operator_actions.revoke_api_key(key, user=request.user)

    @admin.action(description="Rotate the selected keys' secrets", permissions=["change"])
    def rotate(self, request, queryset) -> TemplateResponse:
        """The first POST asks for the grace period; the confirmation's POST rotates and shows each new
        secret on the answer page itself, once (never stored, not even in a message)."""
        keys = list(queryset.filter(revoked_at__isnull=True))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "keys": keys,
            "ignored": queryset.count() - len(keys),
        }
        form = RotateKeysForm(request.POST if request.POST.get("confirmed") else None)
        if not keys or not form.is_valid():
            default_hours = settings.EVENTHUB["API_KEY_ROTATION_GRACE_SECONDS"] / 3600
            context |= {
                "title": "Rotate API key secrets?",
                "form": form if form.is_bound else RotateKeysForm(initial={"grace_hours": default_hours}),
                "selected_ids": [key.pk for key in keys],
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/dashboard/apikey/rotate_confirmation.html", context)
        grace = timedelta(hours=form.cleaned_data["grace_hours"])
        rotated = [(key, operator_actions.rotate_api_key(key, user=request.user, grace=grace)) for key in keys]
        context |= {"title": "New API key secrets", "rotated": rotated, "key_cache_seconds": KEY_CACHE_SECONDS}
        return TemplateResponse(request, "admin/dashboard/apikey/rotated.html", context)


def _handler_choices() -> list[tuple[str, str]]:
    return [("", "---------"), *((name, name) for name in registered_handlers())]


class TargetForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, required=False, assume_scheme="https")
    handler = forms.ChoiceField(
        choices=_handler_choices,
        required=False,
        help_text='One of the registered handlers (@eventhub_handler, settings.EVENTHUB["HANDLERS"]).',
    )

    class Meta:
        model = Target
        fields = (
            "name",
            "kind",
            "enabled",
            "url",
            "method",
            "timeout_seconds",
            "max_concurrency",
            "rate_limit_per_second",
            "headers",
            "signing_secret",
            "handler",
            "input_path",
            "input_transformer",
            "ordered_by",
            "maximum_retry_attempts",
            "maximum_event_age_seconds",
            "dead_letter_enabled",
        )
        widgets = {
            "headers": forms.Textarea(attrs={"rows": 2, "class": "vLargeTextField"}),
            "input_transformer": forms.Textarea(attrs={"rows": 3, "class": "vLargeTextField"}),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        current = self.instance.handler
        if current and current not in registered_handlers():
            # Offered as it is, so saving shows why it is refused instead of silently blanking it.
            self.fields["handler"].choices = [*_handler_choices(), (current, f"{current} (not registered)")]

    def clean(self) -> dict:
        data = super().clean()
        try:
            transform.validate(data.get("input_path", ""), data.get("input_transformer"))
        except transform.InvalidTransform as error:
            field = "input_path" if data.get("input_path") else "input_transformer"
            self.add_error(field, str(error))
        return data


# A target's settings after its name and state, shared by the rule's inline and the target admin.
TARGET_SETTINGS_FIELDSETS = (
    (
        "Webhook",
        {
            "fields": (
                "url",
                ("method", "timeout_seconds"),
                ("max_concurrency", "rate_limit_per_second"),
                "headers",
                "signing_secret",
            )
        },
    ),
    ("Python handler", {"fields": ("handler",)}),
    ("Input", {"fields": ("input_path", "input_transformer", "ordered_by"), "classes": ("collapse",)}),
    ("Retry policy", {"fields": (("maximum_retry_attempts", "maximum_event_age_seconds"), "dead_letter_enabled")}),
)


class TargetInline(admin.StackedInline):
    model = Target
    form = TargetForm
    extra = 0
    fieldsets = (
        (None, {"fields": (("name", "kind", "enabled"), ("disabled_reason", "disabled_at"))}),
        *TARGET_SETTINGS_FIELDSETS,
    )
    readonly_fields = ("disabled_reason", "disabled_at")

    def get_extra(self, request, obj=None, **kwargs) -> int:
        return 0 if obj else 1


class RuleForm(forms.ModelForm):
    class Meta:
        model = Rule
        fields = ("bus", "name", "description", "event_pattern", "state")
        widgets = {"event_pattern": forms.Textarea(attrs={"rows": 8, "class": "vLargeTextField eh-pattern"})}


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    """Rules with their targets inline. The change form tests the pattern against a pasted event and
    backtests it on recent events (see `preview`), before anything is saved."""

    form = RuleForm
    inlines = [TargetInline]
    list_display = ("name", "bus", "state", "target_count", "disabled_target_count", "updated_at", "updated_by")
    list_filter = ("bus", "state")
    search_fields = ("name", "description", "event_pattern")
    readonly_fields = ("created_at", "created_by", "updated_at", "updated_by")
    fieldsets = (
        (None, {"fields": ("bus", "name", "description", "event_pattern", "state")}),
        ("History", {"fields": (("created_at", "created_by"), ("updated_at", "updated_by")), "classes": ("collapse",)}),
    )
    change_form_template = "admin/dashboard/rule/change_form.html"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_targets=Count("targets"), _disabled=Count("targets", filter=Q(targets__enabled=False)))
        )

    @admin.display(description="targets", ordering="_targets")
    def target_count(self, rule: Rule) -> int:
        return rule._targets

    @admin.display(description="disabled targets", ordering="_disabled")
    def disabled_target_count(self, rule: Rule) -> int:
        """Disabled by an operator, or by the worker when the target answered 410 Gone."""
        return rule._disabled

    def save_model(self, request, obj: Rule, form, change: bool) -> None:
        operator_actions.save_rule(form, user=request.user)

    def save_formset(self, request, form, formset, change: bool) -> None:
        operator_actions.save_target_formset(formset, user=request.user)

    def delete_model(self, request, obj: Rule) -> None:
        operator_actions.delete_rule(obj, user=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for rule in queryset:
            operator_actions.delete_rule(rule, user=request.user)

    def get_urls(self):
        preview = self.admin_site.admin_view(self.preview)
        return [path("preview/", preview, name="dashboard_rule_preview"), *super().get_urls()]

    def preview(self, request: HttpRequest) -> HttpResponse:
        """JSON for the change form: is the pattern valid, does it match the pasted event (and why), and
        how many recent stored events match it compared with the saved pattern."""
        if request.method != "POST":
            return JsonResponse({"error": "POST only"}, status=405)
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            return JsonResponse({"error": "permission denied"}, status=403)
        rule_id = request.POST.get("rule_id", "")
        saved = Rule.objects.filter(pk=int(rule_id)).first() if rule_id.isdigit() else None
        answer = preview_pattern(
            request.POST.get("pattern", ""),
            event_text=request.POST.get("event", ""),
            bus=request.POST.get("bus") or "default",
            saved_pattern=saved.event_pattern if saved else None,
        )
        return JsonResponse(answer)


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    """Every target of every rule in one list; each rule's change page also edits its own targets inline."""

    form = TargetForm
    list_display = ("name", "rule", "kind", "destination", "enabled", "disabled_reason", "updated_at")
    list_filter = ("kind", "enabled", "rule__bus", "rule")
    search_fields = ("name", "url", "handler", "disabled_reason", "rule__name")
    list_select_related = ("rule",)
    autocomplete_fields = ("rule",)
    readonly_fields = ("disabled_reason", "disabled_at")
    fieldsets = (
        (None, {"fields": ("rule", ("name", "kind", "enabled"), ("disabled_reason", "disabled_at"))}),
        *TARGET_SETTINGS_FIELDSETS,
    )

    @admin.display(description="URL or handler")
    def destination(self, target: Target) -> str:
        return target.url if target.kind == Target.Kind.WEBHOOK else target.handler

    actions = ["pause", "resume"]

    def save_model(self, request, obj: Target, form, change: bool) -> None:
        operator_actions.save_target(form, user=request.user)

    def delete_model(self, request, obj: Target) -> None:
        operator_actions.delete_target(obj, user=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for target in queryset:
            operator_actions.delete_target(target, user=request.user)

    @admin.action(description="Pause selected targets (their deliveries wait)")
    def pause(self, request, queryset) -> None:
        paused = sum(operator_actions.pause_target(target, user=request.user) for target in queryset)
        self.message_user(request, f"Paused {paused} target(s).")

    @admin.action(description="Resume selected targets (send what waited)")
    def resume(self, request, queryset) -> None:
        resumed = [operator_actions.resume_target(target, user=request.user) for target in queryset]
        released = sum(count for count in resumed if count is not None)
        self.message_user(request, f"Resumed; {released} waiting deliveries released.")


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = ("round", "number", "started_at", "duration_ms", "succeeded", "status_code", "error", "worker")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """Read-only deliveries; dead letters can be redriven or purged by users with the redrive permission."""

    list_display = ("id", "state", "target", "attempts", "last_status_code", "dead_reason", "created_at")
    list_filter = ("state", "dead_reason", "target__rule")
    search_fields = ("=id", "event__event_id", "last_error")
    list_select_related = ("target", "target__rule")
    inlines = [DeliveryAttemptInline]
    actions = ["redrive", "dry_run", "purge"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_redrive_permission(self, request) -> bool:
        return is_operator(request.user)

    @admin.action(description="Redrive the selected dead letters", permissions=["redrive"])
    def redrive(self, request, queryset) -> None:
        result = redrive_dead_letters(queryset, user=request.user)
        detail = {"skipped": result.skipped, "via": "admin"}
        subject = "dead letters (admin selection)"
        record_audit(Action.REDRIVE, subject, user=request.user, count=result.redriven, detail=detail)
        messages.success(request, f"Redrove {result.redriven} dead letters; skipped {result.skipped}.")

    @admin.action(description="Dry-run a redrive of the selected dead letters", permissions=["redrive"])
    def dry_run(self, request, queryset) -> None:
        buckets = dry_run_redrive(queryset)
        messages.info(request, "; ".join(f"{name.replace('_', ' ')}: {n}" for name, n in buckets.items()))

    @admin.action(description="Purge the selected dead letters", permissions=["redrive"])
    def purge(self, request, queryset) -> TemplateResponse | None:
        """Deleting is for good: the first POST shows what would go (a confirmation page, as Django's own
        "delete selected" does); the confirmation's POST purges."""
        dead = queryset.filter(state=Delivery.State.DEAD, dead_lettered=True)
        if not request.POST.get("confirmed"):
            context = {
                **self.admin_site.each_context(request),
                "title": "Purge dead letters?",
                "opts": self.model._meta,
                "count": dead.count(),
                "ignored": queryset.count() - dead.count(),
                "shown": dead.select_related("target")[:20],
                # Ticked rows are repeated; "select all N" is repeated as such (the filtered list is re-read).
                "selected_ids": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
                "select_across": request.POST.get("select_across", "0"),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/dashboard/delivery/purge_confirmation.html", context)
        purged = purge_dead_letters(dead, user=request.user)
        detail = {"via": "admin"}
        record_audit(Action.PURGE, "dead letters (admin selection)", user=request.user, count=purged, detail=detail)
        messages.success(request, f"Purged {purged} dead letters.")
        return None
