"""Django admin: events (read-only: the log is immutable), API keys, rules with their targets, and
deliveries (read-only, with redrive and purge of dead letters)."""

import json

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from dashboard import admin_streams  # noqa: F401 - registers the event-sourcing models
from dashboard.delivery import transform
from dashboard.delivery.handlers import HandlerNotFound, resolve_handler
from dashboard.delivery.redrive import dry_run_redrive, purge_dead_letters, redrive_dead_letters
from dashboard.delivery.routing import backtest_pattern
from dashboard.models import ApiKey, Delivery, DeliveryAttempt, Event, Rule, Target
from dashboard.patterns import InvalidPattern, compile_pattern, explain
from dashboard.roles import REDRIVE_PERMISSION

# The rule form's backtest: how many of this many newest stored events the pattern matches.
BACKTEST_EVENTS = 1000


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


class TargetForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, required=False, assume_scheme="https")

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

    def clean(self) -> dict:
        data = super().clean()
        try:
            transform.validate(data.get("input_path", ""), data.get("input_transformer"))
        except transform.InvalidTransform as error:
            field = "input_path" if data.get("input_path") else "input_transformer"
            self.add_error(field, str(error))
        if data.get("kind") == Target.Kind.PYTHON and data.get("handler"):
            try:
                resolve_handler(data["handler"])
            except HandlerNotFound as error:
                self.add_error("handler", str(error))
        return data


class TargetInline(admin.StackedInline):
    model = Target
    form = TargetForm
    extra = 0
    fieldsets = (
        (None, {"fields": (("name", "kind", "enabled"), ("disabled_reason", "disabled_at"))}),
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
        if not change:
            obj.created_by = request.user
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)

    def get_urls(self):
        preview = self.admin_site.admin_view(self.preview)
        return [path("preview/", preview, name="dashboard_rule_preview"), *super().get_urls()]

    def preview(self, request: HttpRequest) -> HttpResponse:
        """JSON for the change form: is the pattern valid, does it match the pasted event (and why), and
        how many of the last BACKTEST_EVENTS stored events match it compared with the saved pattern."""
        if request.method != "POST":
            return JsonResponse({"error": "POST only"}, status=405)
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            return JsonResponse({"error": "permission denied"}, status=403)
        pattern = request.POST.get("pattern", "")
        rule_id = request.POST.get("rule_id", "")
        saved = Rule.objects.filter(pk=int(rule_id)).first() if rule_id.isdigit() else None
        try:
            compiled = compile_pattern(pattern)
        except InvalidPattern as error:
            return JsonResponse({"valid": False, "error": str(error), "path": error.path})
        answer: dict = {"valid": True, "error": None}
        event_text = request.POST.get("event", "").strip()
        if event_text:
            try:
                event = json.loads(event_text)
            except json.JSONDecodeError as error:
                answer["test"] = {"error": f"The event is not valid JSON: {error}"}
            else:
                if isinstance(event, dict):
                    explanation = explain(compiled, event)
                    answer["test"] = {"matched": explanation.matched, "explanation": explanation.to_dict()}
                else:
                    answer["test"] = {"error": "The event must be a JSON object."}
        result = backtest_pattern(
            pattern,
            bus=request.POST.get("bus") or "default",
            saved_pattern=saved.event_pattern if saved else None,
            sample=BACKTEST_EVENTS,
        )
        answer["backtest"] = {"sample": result.sample, "new": result.new_matches, "old": result.old_matches}
        return JsonResponse(answer)


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
        return request.user.has_perm(REDRIVE_PERMISSION)

    @admin.action(description="Redrive the selected dead letters", permissions=["redrive"])
    def redrive(self, request, queryset) -> None:
        result = redrive_dead_letters(queryset, user=request.user)
        messages.success(request, f"Redrove {result.redriven} dead letters; skipped {result.skipped}.")

    @admin.action(description="Dry-run a redrive of the selected dead letters", permissions=["redrive"])
    def dry_run(self, request, queryset) -> None:
        buckets = dry_run_redrive(queryset)
        messages.info(request, "; ".join(f"{name.replace('_', ' ')}: {n}" for name, n in buckets.items()))

    @admin.action(description="Purge the selected dead letters", permissions=["redrive"])
    def purge(self, request, queryset) -> None:
        messages.success(request, f"Purged {purge_dead_letters(queryset, user=request.user)} dead letters.")
