"""Dashboard pages. Thin: read what the page shows, render it; the domain does the work.

Each page has one template; when htmx asks (request.htmx) the view renders only the fragment the page
includes from templates/dashboard/partials/, so a live update and a fresh page are the same markup.
"""

import json
import uuid
from datetime import timedelta
from functools import cache

from asgiref.sync import sync_to_async
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dashboard.api.aws import endpoint as aws
from dashboard.api.framework import by_header
from dashboard.audit import Action, record_audit
from dashboard.delivery import redrive
from dashboard.models import Delivery, Event, Rule, Target
from dashboard.patterns import InvalidEvent, InvalidPattern, PatternTooComplex, evaluate_pattern
from dashboard.ui import browsing, flowgraph, stats, triage
from dashboard.ui.browsing import EventFilter
from dashboard.ui.consumers import ROWS_KEPT
from dashboard.ui.roles import is_operator, require_operator

WINDOW_LABELS = [("15m", "Last 15 minutes"), ("1h", "Last hour"), ("24h", "Last 24 hours"), ("7d", "Last 7 days")]
SAMPLE_EVENT = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "OrderCreated",
    "source": "shop.orders",
    "account": "000000000000",
    "time": "2026-01-31T12:00:00Z",
    "region": "local-1",
    "resources": [],
    "detail": {"orderId": "o-1042", "total": 1250.0, "currency": "EUR", "shippingAddress": {"country": "DE"}},
}
SAMPLE_PATTERN = {"source": ["shop.orders"], "detail": {"total": [{"numeric": [">=", 1000]}]}}


async def overview(request: HttpRequest) -> HttpResponse:
    user = await request.auser()
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET"})
    return await sync_to_async(_overview)(request)


# `/` is both the overview page and, for AWS SDKs (always POST), the EventBridge JSON endpoint.
root = by_header("X-Amz-Target", post=aws.handle, otherwise=overview)


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """`/favicon.ico`, which browsers and tools ask for whatever the page links (the pages link the SVG)."""
    return HttpResponse(_favicon_bytes(), content_type="image/x-icon", headers={"Cache-Control": "max-age=86400"})


@cache
def _favicon_bytes() -> bytes:
    with open(finders.find("favicon.ico"), "rb") as icon:
        return icon.read()


def _overview(request: HttpRequest) -> HttpResponse:
    flows = stats.flows()
    context = {
        "flows": flows,
        "graph": flowgraph.layout(flows),
        "target_rows": flowgraph.target_rows(flows),
        "failing_minutes": stats.FAILING_MINUTES,
    }
    template = "dashboard/partials/overview_live.html" if request.htmx else "dashboard/overview.html"
    return render(request, template, context)


@login_required
@require_GET
def event_list(request: HttpRequest) -> HttpResponse:
    pattern_error = None
    try:
        event_filter = EventFilter.from_query(request.GET)
    except InvalidPattern as error:
        pattern_error = error
        event_filter = EventFilter.from_query({**request.GET.dict(), "pattern": ""})
    before = request.GET.get("before", "")
    context = {
        "event_filter": event_filter,
        "filter_qs": event_filter.query_string(),
        "pattern_text": request.GET.get("pattern", ""),
        "pattern_error": pattern_error,
        "scan_rows": browsing.HISTORY_SCAN_ROWS,
        "rows_kept": ROWS_KEPT,
    }
    if request.htmx and before.isdigit() and not pattern_error:
        context["page"] = browsing.history_page(event_filter, before=int(before))
        return render(request, "dashboard/partials/history_page.html", context)
    top = browsing.newest_position()
    context.update(
        top=top,
        page=browsing.history_page(event_filter, before=top + 1) if not pattern_error else None,
        windows=WINDOW_LABELS,
        choices={name: browsing.recent_values(field_name=name) for name in ("bus", "source", "detail_type")},
    )
    return render(request, "dashboard/event_list.html", context)


@login_required
@require_GET
def event_detail(request: HttpRequest, position: int) -> HttpResponse:
    event = get_object_or_404(Event, position=position)
    verdicts = browsing.explain_rules(event, Rule.objects.filter(bus=event.bus).order_by("name"))
    deliveries = (
        event.deliveries.select_related("target", "rule").prefetch_related("attempt_log").order_by("created_at")
    )
    return render(
        request,
        "dashboard/event_detail.html",
        {
            "event": event,
            "envelope": event.envelope(),
            "verdicts": verdicts,
            "matched_count": sum(verdict.matched for verdict in verdicts),
            "deliveries": list(deliveries),
        },
    )


@login_required
@require_GET
def rule_list(request: HttpRequest) -> HttpResponse:
    matched = stats.rule_match_counts(since=timezone.now() - timedelta(hours=24))
    rules = Rule.objects.prefetch_related("targets").order_by("bus", "name")
    return render(
        request,
        "dashboard/rule_list.html",
        {
            "rows": [{"rule": rule, "matched": matched.get(rule.pk, 0)} for rule in rules],
            "rule_admin": admin.site.is_registered(Rule),
            "can_operate": is_operator(request.user),
        },
    )


@login_required
@require_GET
def rule_detail(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(Rule, pk=pk)
    since = timezone.now() - timedelta(hours=24)
    deliveries = (
        Delivery.objects.filter(rule=rule, id__gte=stats.uuid7_floor(since))
        .select_related("event", "target")
        .order_by("-id")[:50]
    )
    return render(
        request,
        "dashboard/rule_detail.html",
        {
            "rule": rule,
            "pattern": _parsed_or_text(rule.event_pattern),
            "targets": rule.targets.order_by("name"),
            "deliveries": deliveries,
            "matched": stats.rule_match_counts(since=since).get(rule.pk, 0),
            "rule_admin": admin.site.is_registered(Rule),
            "can_operate": is_operator(request.user),
        },
    )


@login_required
@require_GET
def target_detail(request: HttpRequest, pk: int) -> HttpResponse:
    target = get_object_or_404(Target.objects.select_related("rule"), pk=pk)
    counts = stats.target_state_counts(target.pk)
    states = [state for state in Delivery.State if state != Delivery.State.CANCELLED]
    return render(
        request,
        "dashboard/target_detail.html",
        {
            "target": target,
            "state_counts": [(state.value, state.label, counts[state.value]) for state in states],
            "deliveries": Delivery.objects.filter(target=target).order_by("-id")[:50],
            "target_admin": admin.site.is_registered(Target),
            "can_operate": is_operator(request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def playground(request: HttpRequest) -> HttpResponse:
    """Try a pattern on an event. POST evaluates (htmx gets the result fragment); GET pre-fills the form."""
    if request.method == "POST":
        event_text, pattern_text = request.POST.get("event", ""), request.POST.get("pattern", "")
        context = {"event_text": event_text, "pattern_text": pattern_text, **_try_pattern(event_text, pattern_text)}
        if request.htmx:
            return render(request, "dashboard/partials/playground_result.html", context)
        return render(request, "dashboard/playground.html", context)
    event = _prefill_event(request.GET.get("event", ""))
    rule = Rule.objects.filter(pk=request.GET["rule"]).first() if request.GET.get("rule", "").isdigit() else None
    event_text = json.dumps(event.envelope() if event else SAMPLE_EVENT, indent=2, ensure_ascii=False)
    pattern_text = (
        json.dumps(_parsed_or_text(rule.event_pattern), indent=2) if rule else json.dumps(SAMPLE_PATTERN, indent=2)
    )
    context = {
        "event_text": event_text,
        "pattern_text": pattern_text,
        "rule": rule,
        "source_note": f"event #{event.position}" if event else "a sample order",
        **_try_pattern(event_text, pattern_text),
    }
    return render(request, "dashboard/playground.html", context)


def _prefill_event(position: str) -> Event | None:
    return Event.objects.filter(position=int(position)).first() if position.isdigit() else None


def _try_pattern(event_text: str, pattern_text: str) -> dict:
    try:
        event = json.loads(event_text)
    except json.JSONDecodeError as error:
        return {"event_error": f"Line {error.lineno}, column {error.colno}: {error.msg}."}
    if not isinstance(event, dict):
        return {"event_error": "An event is a JSON object, such as an EventBridge envelope."}
    try:
        return {"explanation": evaluate_pattern(pattern_text, event).to_dict()}
    except (InvalidPattern, PatternTooComplex) as error:
        return {"pattern_error": error}
    except InvalidEvent as error:
        return {"event_error": str(error)}


def _parsed_or_text(pattern_text: str) -> object:
    try:
        return json.loads(pattern_text)
    except json.JSONDecodeError:
        return pattern_text


@login_required
@require_GET
def dead_letter_list(request: HttpRequest) -> HttpResponse:
    triage_filter = triage.TriageFilter.from_query(request.GET)
    dead = triage_filter.queryset()
    return render(
        request,
        "dashboard/dead_letters.html",
        {
            "triage_filter": triage_filter,
            "filter_qs": triage_filter.query_string(),
            "rows": triage.rows(dead),
            "groups": triage.groups(dead),
            "total": dead.count(),
            "page_rows": triage.PAGE_ROWS,
            "can_redrive": is_operator(request.user),
            "targets": Target.objects.select_related("rule").order_by("name"),
            "rules": Rule.objects.order_by("name"),
            "windows": WINDOW_LABELS,
        },
    )


# A redrive's progress is tracked for at most this many deliveries (their ids live in the session).
PROGRESS_TRACKED = 5_000
_CARRIED_FIELDS = ("scope", "group", "target", "rule", "error", "status", "window", "selected")


def _selection(request: HttpRequest):
    """The dead letters a POST names, and the form fields that name them (to repeat on a confirmation)."""
    triage_filter = triage.TriageFilter.from_query(request.POST)
    carried = [(name, value) for name in _CARRIED_FIELDS for value in request.POST.getlist(name)]
    return triage.selection(triage_filter, request.POST), carried


def _described(carried: list[tuple[str, str]]) -> str:
    """The selection in words, for the audit log: the filter fields, and how many rows were ticked."""
    ticked = sum(name == "selected" for name, _ in carried)
    named = [f"{name}={value}" for name, value in carried if name != "selected" and value]
    if ticked:
        named.append(f"{ticked} ticked")
    return "dead letters" + (f" ({', '.join(named)})" if named else "")


def _notice(request: HttpRequest, message: str, tone: str = "accent") -> HttpResponse:
    return render(request, "dashboard/partials/dlq_notice.html", {"message": message, "tone": tone})


@login_required
@require_POST
def dlq_redrive(request: HttpRequest) -> HttpResponse:
    """Redrive one, a group, the ticked rows or all that match; asks first above CONFIRM_ABOVE."""
    require_operator(request.user)
    chosen, carried = _selection(request)
    count = chosen.count()
    if not count:
        return _notice(request, "Nothing to redrive: those dead letters are gone already.", "warn")
    if count > triage.CONFIRM_ABOVE and not request.POST.get("confirmed"):
        context = {"action": "redrive", "count": count, "carried": carried, "buckets": redrive.dry_run_redrive(chosen)}
        return render(request, "dashboard/partials/dlq_confirm.html", context)
    rate = request.POST.get("rate", "")
    result = redrive.redrive_dead_letters(chosen, user=request.user, rate=float(rate) if rate.isdigit() else None)
    detail = {"skipped": result.skipped}
    record_audit(Action.REDRIVE, _described(carried), user=request.user, count=result.redriven, detail=detail)
    token = uuid.uuid4().hex
    request.session[f"redrive:{token}"] = {
        "ids": [str(delivery_id) for delivery_id in result.ids[:PROGRESS_TRACKED]],
        "redriven": result.redriven,
        "skipped": result.skipped,
    }
    return _render_progress(request, token)


@login_required
@require_GET
def dlq_progress(request: HttpRequest, token: str) -> HttpResponse:
    return _render_progress(request, token)


def _render_progress(request: HttpRequest, token: str) -> HttpResponse:
    tracked = request.session.get(f"redrive:{token}")
    if tracked is None:
        return _notice(request, "That redrive is no longer tracked.", "warn")
    progress = redrive.redrive_progress(tracked["ids"])
    active = sum(progress[state] for state in Delivery.ACTIVE_STATES)
    context = {
        "token": token,
        "progress": progress,
        "active": active,
        "done": active == 0,
        "tracked": len(tracked["ids"]),
        "finished": len(tracked["ids"]) - active,
        "redriven": tracked["redriven"],
        "skipped": tracked["skipped"],
    }
    return render(request, "dashboard/partials/dlq_progress.html", context)


@login_required
@require_POST
def dlq_purge(request: HttpRequest) -> HttpResponse:
    """Delete dead letters for good: always asks first."""
    require_operator(request.user)
    chosen, carried = _selection(request)
    count = chosen.count()
    if not count:
        return _notice(request, "Nothing to purge.", "warn")
    if not request.POST.get("confirmed"):
        return render(
            request, "dashboard/partials/dlq_confirm.html", {"action": "purge", "count": count, "carried": carried}
        )
    purged = redrive.purge_dead_letters(chosen, user=request.user)
    record_audit(Action.PURGE, _described(carried), user=request.user, count=purged)
    return _notice(request, f"Purged {purged} dead letter{'s' if purged != 1 else ''}.", "good")


@login_required
@require_POST
def dlq_dry_run(request: HttpRequest) -> HttpResponse:
    """What a redrive of the selection would most likely do; changes nothing, so viewers may ask too."""
    chosen, carried = _selection(request)
    context = {
        "count": chosen.count(),
        "buckets": redrive.dry_run_redrive(chosen),
        "carried": carried,
        "can_redrive": is_operator(request.user),
    }
    return render(request, "dashboard/partials/dlq_dry_run.html", context)


@login_required
@require_GET
def dlq_dismiss(request: HttpRequest) -> HttpResponse:
    """Clears the result panel (the Cancel and Close buttons)."""
    return HttpResponse("")
