"""Event-sourcing pages: streams (an aggregate's timeline), projections (position, lag, errors, rebuild) and
replays (start with a confirmation, progress, cancel). Thin: read, render; dashboard.eventsourcing acts.

Looking needs a login; acting (rebuild, retry, skip, replay, cancel) needs the operator role, like redrive.
"""

from datetime import UTC, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from dashboard.audit import PROJECTION_ACTIONS, Action, record_audit
from dashboard.eventsourcing import projection_runner
from dashboard.eventsourcing.projections import UnknownProjection
from dashboard.eventsourcing.replay import (
    REPLAY_NAME,
    InvalidReplay,
    cancel_replay,
    parse_spec,
    preview,
    start_replay,
)
from dashboard.eventsourcing.streams import InvalidStream, StreamName
from dashboard.eventsourcing.timeline import MAX_SHOWN, StreamTimeline, recent_streams
from dashboard.models import Target
from dashboard.models.streams import Archive, Replay
from dashboard.ui.roles import require_operator

from .pages import projections_context, replays_context

_REPLAY_FIELDS = ("name", "description", "bus", "archive", "start", "end", "event_pattern", "rate_per_second")


@login_required
@require_GET
def stream_list(request: HttpRequest) -> HttpResponse:
    kind, ident = request.GET.get("type", "").strip(), request.GET.get("id", "").strip()
    error = ""
    if kind:
        try:
            stream = StreamName(kind, ident or "-")
        except InvalidStream as invalid:
            error, kind = str(invalid), ""
        else:
            if ident:
                return redirect("streams:stream-detail", stream.aggregate_type, stream.aggregate_id)
    context = {"streams": recent_streams(aggregate_type=kind), "kind": kind, "ident": ident, "error": error}
    return render(request, "dashboard/streams/stream_list.html", context)


@login_required
@require_GET
def stream_detail(request: HttpRequest, aggregate_type: str, aggregate_id: str) -> HttpResponse:
    try:
        timeline = StreamTimeline(StreamName(aggregate_type, aggregate_id))
    except InvalidStream as invalid:
        raise Http404(str(invalid)) from None
    entries = timeline.advance()
    context = {
        "stream": timeline.stream,
        "aggregate_name": timeline.aggregate_name,
        "version": timeline.version,
        "entries": entries[-MAX_SHOWN:],
        "hidden": max(0, len(entries) - MAX_SHOWN),
    }
    return render(request, "dashboard/streams/stream_detail.html", context)


@login_required
@require_GET
def projection_list(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/streams/projections.html", projections_context(request.user))


@login_required
@require_POST
def projection_action(request: HttpRequest, name: str, action: str) -> HttpResponse:
    """The buttons: rebuild (the worker builds the shadow), cancel-rebuild, retry, skip (the failing event)."""
    require_operator(request.user)
    actions = {
        "rebuild": projection_runner.request_rebuild,
        "cancel-rebuild": projection_runner.cancel_rebuild,
        "retry": projection_runner.retry,
        "skip": projection_runner.skip_failed_event,
    }
    if action not in actions:
        raise Http404(f"no action {action!r}")
    try:
        acted = actions[action](name)
    except UnknownProjection as error:
        raise Http404(str(error)) from None
    notice = ""
    if acted is False:  # as the API's 409: a skip finds nothing to skip when the projection is not stopped
        notice = f"Nothing skipped: projection {name} is not stopped on a failing event."
    else:
        record_audit(PROJECTION_ACTIONS[action], f"projection {name}", user=request.user)
    if request.htmx:
        context = projections_context(request.user) | {"notice": notice}
        return render(request, "dashboard/streams/partials/projection_rows.html", context)
    if notice:
        messages.warning(request, notice)
    return redirect("streams:projections")


@login_required
@require_GET
def replay_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now().replace(second=0, microsecond=0)
    form = {"start": _local(now - timedelta(hours=1)), "end": _local(now), "bus": "default", "rate_per_second": "100"}
    return _replay_page(request, form)


def _replay_page(request: HttpRequest, form: dict, error: str = "", status: int = 200) -> HttpResponse:
    context = replays_context(request.user) | {
        "form": form,
        "chosen_targets": {int(t) for t in form.get("target_ids", []) if str(t).isdigit()},
        "error": error,
        "archives": Archive.objects.all(),
        "targets": Target.objects.select_related("rule").order_by("rule__bus", "rule__name", "name"),
    }
    return render(request, "dashboard/streams/replays.html", context, status=status)


def _replay_form(request: HttpRequest) -> dict:
    form = {name: request.POST.get(name, "").strip() for name in _REPLAY_FIELDS}
    form["target_ids"] = request.POST.getlist("target_ids")
    return form


def _spec_input(form: dict) -> dict:
    """The form as parse_spec reads it: times typed without a zone are UTC, as the form says."""
    return {
        "bus": form["bus"] or "default",
        "archive": form["archive"] or None,
        "start": _utc_text(form["start"]),
        "end": _utc_text(form["end"]),
        "event_pattern": form["event_pattern"],
        "target_ids": [int(t) for t in form["target_ids"] if t.isdigit()],
    }


def _check_new_name(name: str) -> None:
    """Refuse at Preview what Start would refuse, so the operator fixes the name before confirming."""
    if not REPLAY_NAME.match(name):
        raise InvalidReplay("A replay name is 1-64 letters, digits, '-' or '_'.")
    if Replay.objects.filter(name=name).exists():
        raise InvalidReplay(f"A replay named {name!r} exists already: choose another name.")


def _rate(form: dict) -> float:
    try:
        return float(form["rate_per_second"] or "100")
    except ValueError:
        raise InvalidReplay("the rate must be a number of events per second") from None


@login_required
@require_POST
def replay_preview(request: HttpRequest) -> HttpResponse:
    """The confirmation: how many events and deliveries the replay will send, before anything is sent."""
    require_operator(request.user)
    form = _replay_form(request)
    try:
        _check_new_name(form["name"])
        spec = parse_spec(_spec_input(form))
        _rate(form)
        counted = preview(spec)
    except InvalidReplay as error:
        return _replay_page(request, form, str(error), status=400)
    targets = Target.objects.filter(pk__in=spec.target_ids).select_related("rule")
    context = {"form": form, "counted": counted, "spec": spec, "targets": targets}
    return render(request, "dashboard/streams/replay_confirm.html", context)


@login_required
@require_POST
def replay_start(request: HttpRequest) -> HttpResponse:
    """The confirmation's Start button (htmx): a refusal answers an error fragment in the confirmation,
    success sends the browser to the replay's row on the live list."""
    require_operator(request.user)
    form = _replay_form(request)
    ceiling = request.POST.get("position_ceiling", "")
    try:
        replay = start_replay(
            form["name"],
            parse_spec(_spec_input(form)),
            rate_per_second=_rate(form),
            position_ceiling=int(ceiling) if ceiling.isdigit() else None,
            description=form["description"][:1000],
            user=request.user,
        )
    except InvalidReplay as error:
        if request.htmx:
            return render(request, "dashboard/streams/partials/replay_start_error.html", {"error": str(error)})
        return _replay_page(request, form, str(error), status=400)
    record_audit(
        Action.REPLAY_START,
        f"replay {replay.name}",
        user=request.user,
        count=replay.events_total,
        detail={"bus": replay.bus, "rate_per_second": replay.rate_per_second, "target_ids": replay.target_ids},
    )
    url = reverse("streams:replays") + f"#replay-{replay.name}"
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@login_required
@require_POST
def replay_cancel(request: HttpRequest, name: str) -> HttpResponse:
    require_operator(request.user)
    if not REPLAY_NAME.match(name):
        raise Http404("no replay by that name")
    if cancel_replay(name):
        record_audit(Action.REPLAY_CANCEL, f"replay {name}", user=request.user)
    if request.htmx:
        return render(request, "dashboard/streams/partials/replay_rows.html", replays_context(request.user))
    return redirect("streams:replays")


def _local(moment) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def _utc_text(value: str) -> str:
    if value and value[-1] != "Z" and "+" not in value[10:] and "-" not in value[10:]:
        return value + "+00:00"
    return value
