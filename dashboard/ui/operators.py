"""Operator pages: create and edit rules and targets, enable and disable them, pause and resume a target,
rotate a signing secret, issue and revoke API keys, and the audit log of all that (and of every redrive,
purge, replay and rebuild).

Looking at the audit log needs a login; everything else needs the operator role. One-click changes are
asked first on a confirmation page (GET), made by its POST; secrets are shown once, in the POST's answer.
dashboard.rules.operator_actions makes each change and writes its audit entry.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dashboard import audit
from dashboard.models import ApiKey, Rule, Target
from dashboard.models.audit import AuditEntry
from dashboard.rules import operator_actions
from dashboard.ui.forms import ApiKeyForm, RuleForm, TargetEditForm
from dashboard.ui.pattern_preview import preview_pattern
from dashboard.ui.roles import require_operator

_SWITCHES = {"enable": True, "disable": False}


def _confirm(request: HttpRequest, **context) -> HttpResponse:
    """The one confirmation page: a question, what follows from it, and a POST button back to the same URL."""
    return render(request, "dashboard/confirm.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def rule_form(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """New rule (no pk) or edit one, with the pattern preview (validity, test event, backtest) beside it."""
    require_operator(request.user)
    rule = get_object_or_404(Rule, pk=pk) if pk is not None else None
    form = RuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        saved = operator_actions.save_rule(form, user=request.user)
        return redirect("dashboard:rule-detail", saved.pk)
    return render(request, "dashboard/rule_form.html", {"form": form, "rule": rule})


@login_required
@require_POST
def rule_preview(request: HttpRequest) -> JsonResponse:
    """The rule form's live preview (JSON, read-only): is the pattern valid, does it match, how often."""
    require_operator(request.user)
    rule_id = request.POST.get("rule_id", "")
    saved = Rule.objects.filter(pk=int(rule_id)).first() if rule_id.isdigit() else None
    answer = preview_pattern(
        request.POST.get("pattern", ""),
        event_text=request.POST.get("event", ""),
        bus=request.POST.get("bus", ""),
        saved_pattern=saved.event_pattern if saved else None,
    )
    return JsonResponse(answer)


@login_required
@require_http_methods(["GET", "POST"])
def rule_switch(request: HttpRequest, pk: int, switch: str) -> HttpResponse:
    require_operator(request.user)
    rule = get_object_or_404(Rule, pk=pk)
    enable = _switch(switch)
    if request.method == "POST":
        operator_actions.set_rule_enabled(rule, enable, user=request.user)
        return redirect("dashboard:rule-detail", rule.pk)
    return _confirm(
        request,
        title=f"{switch.capitalize()} rule {rule.name}?",
        consequence=(
            "Events published from now on are matched against it again and sent to its enabled targets."
            if enable
            else "Events published from now on are not matched against it, and deliveries still pending for its "
            "targets end as dead letters (redrive them once it is enabled again)."
        ),
        button=f"{switch.capitalize()} rule",
        tone="primary" if enable else "danger",
        back=reverse("dashboard:rule-detail", args=[rule.pk]),
    )


@login_required
@require_http_methods(["GET", "POST"])
def target_form(request: HttpRequest, pk: int | None = None, rule_pk: int | None = None) -> HttpResponse:
    """New target on a rule (rule_pk) or edit one (pk)."""
    require_operator(request.user)
    if pk is not None:
        target = get_object_or_404(Target.objects.select_related("rule"), pk=pk)
    else:
        target = Target(rule=get_object_or_404(Rule, pk=rule_pk))
    form = TargetEditForm(request.POST or None, instance=target)
    if request.method == "POST" and form.is_valid():
        saved = operator_actions.save_target(form, user=request.user)
        return redirect("dashboard:target-detail", saved.pk)
    return render(request, "dashboard/target_form.html", {"form": form, "target": target, "rule": target.rule})


@login_required
@require_http_methods(["GET", "POST"])
def target_switch(request: HttpRequest, pk: int, switch: str) -> HttpResponse:
    require_operator(request.user)
    target = get_object_or_404(Target.objects.select_related("rule"), pk=pk)
    enable = _switch(switch)
    if request.method == "POST":
        operator_actions.set_target_enabled(target, enable, user=request.user)
        return redirect("dashboard:target-detail", target.pk)
    if enable:
        consequence = "New matching events are delivered to it again."
        if target.disabled_reason:
            consequence = f"It was disabled by the worker: {target.disabled_reason}. " + consequence
    else:
        consequence = "Nothing is sent to it any more: deliveries still pending for it end as dead letters."
    return _confirm(
        request,
        title=f"{switch.capitalize()} target {target.name}?",
        consequence=consequence,
        button=f"{switch.capitalize()} target",
        tone="primary" if enable else "danger",
        back=reverse("dashboard:target-detail", args=[target.pk]),
    )


@login_required
@require_http_methods(["GET", "POST"])
def target_pause(request: HttpRequest, pk: int, pause: bool) -> HttpResponse:
    """Pause (pause=True) or resume a target by hand; asking again for what is already so changes nothing."""
    require_operator(request.user)
    target = get_object_or_404(Target.objects.select_related("rule"), pk=pk)
    if request.method == "POST":
        if pause:
            operator_actions.pause_target(target, user=request.user)
        else:
            operator_actions.resume_target(target, user=request.user)
        return redirect("dashboard:target-detail", target.pk)
    if pause == target.is_paused:
        return redirect("dashboard:target-detail", target.pk)
    verb = "Pause" if pause else "Resume"
    if pause:
        consequence = (
            "Its deliveries wait instead of being sent; one probe at a time tests it, and the first that succeeds "
            "resumes it (or resume it here)."
        )
    else:
        consequence = (
            f"It was paused: {target.paused_reason}. The deliveries that waited for it are sent now, and new ones "
            "as they come."
        )
    return _confirm(
        request,
        title=f"{verb} target {target.name}?",
        consequence=consequence,
        button=f"{verb} target",
        tone="danger" if pause else "primary",
        back=reverse("dashboard:target-detail", args=[target.pk]),
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def target_rotate_secret(request: HttpRequest, pk: int) -> HttpResponse:
    require_operator(request.user)
    target = get_object_or_404(Target.objects.select_related("rule"), pk=pk)
    if request.method == "POST":
        secret = operator_actions.rotate_signing_secret(target, user=request.user)
        context = {"target": target, "secret": secret}
        return render(request, "dashboard/secret_shown.html", context)
    return _confirm(
        request,
        title=f"Rotate the signing secret of {target.name}?",
        consequence="Deliveries are signed with the new secret from now on; the receiver rejects them until it "
        "has the new one. The new secret is shown once, on the next page.",
        button="Rotate secret",
        tone="danger",
        back=reverse("dashboard:target-detail", args=[target.pk]),
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def api_keys(request: HttpRequest) -> HttpResponse:
    """The keys, and the form for a new one; a POST issues it and shows its secret once."""
    require_operator(request.user)
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        key, secret = operator_actions.issue_api_key(
            form.cleaned_data["name"], form.cleaned_data["scopes"], user=request.user
        )
        return render(request, "dashboard/secret_shown.html", {"key": key, "secret": secret})
    keys = ApiKey.objects.order_by("revoked_at", "-created_at")
    return render(request, "dashboard/api_keys.html", {"form": form, "keys": keys})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def api_key_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    require_operator(request.user)
    key = get_object_or_404(ApiKey, pk=pk)
    if not key.is_active:
        return redirect("dashboard:api-keys")
    if request.method == "POST":
        secret = operator_actions.rotate_api_key(key, user=request.user)
        return render(request, "dashboard/secret_shown.html", {"key": key, "secret": secret, "rotated": True})
    return _confirm(
        request,
        title=f"Rotate the secret of API key {key.name} ({key.access_key_id})?",
        consequence="A new secret is made and shown once, on the next page. The old secret keeps working until "
        f"{_grace_text()} from now, so its users can switch over; rotating again ends it at once.",
        button="Rotate secret",
        tone="danger",
        back=reverse("dashboard:api-keys"),
    )


def _grace_text() -> str:
    hours = settings.EVENTHUB["API_KEY_ROTATION_GRACE_SECONDS"] / 3600
    return f"{hours:g} hour{'s' if hours != 1 else ''}"


@login_required
@require_http_methods(["GET", "POST"])
def api_key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    require_operator(request.user)
    key = get_object_or_404(ApiKey, pk=pk)
    if request.method == "POST":
        operator_actions.revoke_api_key(key, user=request.user)
        return redirect("dashboard:api-keys")
    if not key.is_active:
        return redirect("dashboard:api-keys")
    return _confirm(
        request,
        title=f"Revoke API key {key.name} ({key.access_key_id})?",
        consequence="Requests signed with it are refused from now on. This cannot be undone: issue a new key instead.",
        button="Revoke key",
        tone="danger",
        back=reverse("dashboard:api-keys"),
    )


@login_required
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    action = request.GET.get("action", "")
    if action not in AuditEntry.Action.values:
        action = ""
    before = request.GET.get("before", "")
    entries = audit.recent_entries(action=action, before=int(before) if before.isdigit() else None)
    context = {
        "entries": entries,
        "action": action,
        "actions": AuditEntry.Action.choices,
        "older": entries[-1].pk if len(entries) == audit.PAGE_ENTRIES else None,
    }
    return render(request, "dashboard/audit.html", context)


def _switch(switch: str) -> bool:
    if switch not in _SWITCHES:
        raise Http404("enable or disable")
    return _SWITCHES[switch]
