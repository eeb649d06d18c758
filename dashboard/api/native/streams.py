"""The event-sourcing API: streams (append with an expected version, read), the global log (`$all`),
projections (status, rebuild, retry, skip) and replays (preview, start, progress, cancel). Thin: parse the
request, call dashboard.eventsourcing, render the answer."""

from datetime import UTC

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse

from dashboard.api.errors import ApiError, json_response
from dashboard.api.framework import MAX_PAGE, api_view, by_method, fast_path, int_param, read_json_body, timestamp_param
from dashboard.audit import PROJECTION_ACTIONS, Action, record_audit
from dashboard.eventsourcing import projection_runner, projections
from dashboard.eventsourcing.projections import UnknownProjection
from dashboard.eventsourcing.replay import (
    REPLAY_NAME,
    InvalidReplay,
    cancel_replay,
    parse_spec,
    preview,
    start_replay,
)
from dashboard.eventsourcing.streams import (
    ANY,
    AppendResult,
    DuplicateEventIds,
    ExpectedVersion,
    InvalidStream,
    StreamName,
    WrongExpectedVersion,
    append,
    parse_expected_version,
    read,
    read_all,
    stream_version,
)
from dashboard.ingest import group_commit as ingest
from dashboard.ingest.publishing import InvalidEntry, parse_entry
from dashboard.models.streams import ProjectionState, Replay
from dashboard.schemas.validation import EntryBreaksSchema

from .events import render_event

MAX_APPEND_EVENTS = 100
# An HTTP reader of `$all` waits less for in-flight writers than the worker does: it can poll again.
ALL_GAP_WAIT_SECONDS = 0.25


def _stream(aggregate_type: str, aggregate_id: str) -> StreamName:
    try:
        return StreamName(aggregate_type, aggregate_id)
    except InvalidStream as error:
        raise ApiError(400, "InvalidStream", str(error)) from None


def wrong_version_response(error: WrongExpectedVersion) -> HttpResponse:
    return json_response(
        {
            "error": {
                "code": "WrongExpectedVersion",
                "message": str(error),
                "expected_version": error.expected,
                "current_version": error.current,
            }
        },
        status=409,
    )


def _validated_append(name: StreamName, events: list[object], expected: ExpectedVersion) -> AppendResult:
    """Validate every event as a publish entry (the stream's type is the default source), then append them.

    Run with the append, off the event loop: validating a large body takes a while. One bad event refuses
    the whole append, as an append is all or nothing."""
    drafts = []
    for index, entry in enumerate(events):
        defaults = {"source": name.aggregate_type} if isinstance(entry, dict) else {}
        try:
            drafts.append(parse_entry(defaults | entry if isinstance(entry, dict) else entry))
        except InvalidEntry as error:
            raise ApiError(400, error.code, f"events[{index}]: {error}") from None
    return append(name, drafts, expected)


@fast_path
@api_view(("POST",), scope="publish")
async def append_events(request: HttpRequest, aggregate_type: str, aggregate_id: str) -> HttpResponse:
    name = _stream(aggregate_type, aggregate_id)
    payload = read_json_body(request)
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        raise ApiError(400, "InvalidRequest", 'Send {"expected_version": ..., "events": [...]}.')
    events = payload["events"]
    if not 0 < len(events) <= MAX_APPEND_EVENTS:
        raise ApiError(400, "InvalidRequest", f"An append holds 1 to {MAX_APPEND_EVENTS} events.")
    try:
        expected = parse_expected_version(payload.get("expected_version", ANY))
    except InvalidStream as error:
        raise ApiError(400, "InvalidExpectedVersion", str(error)) from None
    try:
        result = await ingest.run_db_work(_validated_append, name, events, expected)
    except WrongExpectedVersion as error:
        return wrong_version_response(error)
    except DuplicateEventIds as error:
        raise ApiError(409, "DuplicateEventId", str(error)) from None
    except InvalidStream as error:
        raise ApiError(400, "InvalidRequest", str(error)) from None
    except EntryBreaksSchema as error:
        raise ApiError(400, error.code, str(error)) from None
    return json_response(
        {
            "stream": {"type": name.aggregate_type, "id": name.aggregate_id},
            "first_version": result.first_version,
            "last_version": result.last_version,
            "events": [
                {"id": event_id, "version": result.first_version + n, "position": position}
                for n, (event_id, position) in enumerate(zip(result.event_ids, result.positions, strict=True))
            ],
        }
    )


@api_view(("GET",), scope="read")
async def read_stream(request: HttpRequest, aggregate_type: str, aggregate_id: str) -> HttpResponse:
    name = _stream(aggregate_type, aggregate_id)
    from_version = int_param(request, "from_version", 1, 1, 2**63 - 1)
    limit = int_param(request, "limit", 100, 1, MAX_PAGE)

    def load() -> tuple[int, list]:
        return stream_version(name), read(name, from_version=from_version, limit=limit)

    version, events = await sync_to_async(load)()
    if version == 0:
        raise ApiError(404, "StreamNotFound", f"Stream {name} has no events.")
    last = events[-1].version if events else None
    return json_response(
        {
            "stream": {"type": name.aggregate_type, "id": name.aggregate_id},
            "version": version,
            "events": [render_event(e) for e in events],
            "next_from_version": last + 1 if last is not None and last < version else None,
        }
    )


@api_view(("GET",), scope="read")
async def read_global_log(request: HttpRequest) -> HttpResponse:
    """`/api/v1/streams/$all`: every event in position order from `after`, never past the safe mark."""
    after = int_param(request, "after", 0, 0, 2**63 - 1)
    limit = int_param(request, "limit", 100, 1, MAX_PAGE)
    if any("\x00" in value for values in request.GET.lists() for value in values[1]):
        raise ApiError(400, "InvalidParameter", "Parameters may not contain NUL characters.")
    detail_types = [t for t in request.GET.getlist("detail-type") if t] or None
    since = timestamp_param(request, "since")
    try:
        # In UTC, so PostgreSQL never sees an offset it cannot store (it stops at 15:59).
        since = since.astimezone(UTC) if since else None
    except OverflowError:
        raise ApiError(400, "InvalidParameter", "'since' is out of range.") from None
    page = await sync_to_async(read_all)(
        after,
        limit=limit,
        bus=request.GET.get("bus") or None,
        detail_types=detail_types,
        aggregate_type=request.GET.get("aggregate-type") or None,
        since=since,
        wait=ALL_GAP_WAIT_SECONDS,
    )
    return json_response({"events": [render_event(e) for e in page.events], "next_after": page.next_after})


def render_projection(state: ProjectionState) -> dict:
    behind = projection_runner.lag(state)
    rebuild = None
    if state.rebuild_generation is not None or state.rebuild_requested_at:
        rebuild = {
            "generation": state.rebuild_generation,
            "position": state.rebuild_position,
            "requested_at": state.rebuild_requested_at.isoformat() if state.rebuild_requested_at else None,
            "started_at": state.rebuild_started_at.isoformat() if state.rebuild_started_at else None,
            "error": state.rebuild_error or None,
        }
    error = None
    if state.status == ProjectionState.Status.FAILED:
        error = {
            "message": state.last_error,
            "position": state.error_position,
            "event_id": state.error_event_id,
            "failed_at": state.failed_at.isoformat() if state.failed_at else None,
        }
    return {
        "name": state.name,
        "status": state.status,
        "live_generation": state.live_generation,
        "position": state.position,
        "lag": {"events": behind.events, "seconds": round(behind.seconds, 3), "capped": behind.capped},
        "events_applied": state.events_applied,
        "last_applied_at": state.last_applied_at.isoformat() if state.last_applied_at else None,
        "rebuilt_at": state.rebuilt_at.isoformat() if state.rebuilt_at else None,
        "error": error,
        "rebuild": rebuild,
    }


def _projection_states() -> list[dict]:
    return [render_projection(projection_runner.state_of(name)) for name in projections.registered()]


def _projection_state(name: str) -> dict:
    try:
        return render_projection(projection_runner.state_of(name))
    except UnknownProjection as error:
        raise ApiError(404, "NotFound", str(error)) from None


@api_view(("GET",), scope="read")
async def list_projections(request: HttpRequest) -> HttpResponse:
    return json_response({"projections": await sync_to_async(_projection_states)()})


@api_view(("GET",), scope="read")
async def get_projection(request: HttpRequest, name: str) -> HttpResponse:
    return json_response(await sync_to_async(_projection_state)(name))


@api_view(("POST",), scope="admin")
async def projection_action(request: HttpRequest, name: str, action: str) -> HttpResponse:
    """rebuild (the worker builds a shadow and swaps it in), cancel-rebuild, retry, skip (the failing event)."""

    def run() -> dict:
        _projection_state(name)
        if action == "rebuild":
            projection_runner.request_rebuild(name)
        elif action == "cancel-rebuild":
            projection_runner.cancel_rebuild(name)
        elif action == "retry":
            projection_runner.retry(name)
        elif action == "skip":
            if not projection_runner.skip_failed_event(name):
                raise ApiError(409, "NotStopped", f"Projection {name} is not stopped on a failing event.")
        else:
            raise ApiError(404, "NotFound", f"Unknown action {action!r}: rebuild, cancel-rebuild, retry or skip.")
        record_audit(PROJECTION_ACTIONS[action], f"projection {name}", actor=_actor(request))
        return _projection_state(name)

    return json_response(await sync_to_async(run)(), status=202 if action == "rebuild" else 200)


def _actor(request: HttpRequest) -> str:
    return f"api:{request.api_key.access_key_id}"


def render_replay(replay: Replay) -> dict:
    return {
        "name": replay.name,
        "description": replay.description,
        "state": replay.state,
        "state_reason": replay.state_reason,
        "bus": replay.bus,
        "archive": replay.archive_name or None,
        "event_pattern": replay.event_pattern or None,
        "start": replay.event_start_time.isoformat(),
        "end": replay.event_end_time.isoformat(),
        "rule_ids": replay.rule_ids,
        "target_ids": replay.target_ids,
        "rate_per_second": replay.rate_per_second,
        "position_ceiling": replay.position_ceiling,
        "events_total": replay.events_total,
        "events_replayed": replay.events_replayed,
        "deliveries_created": replay.deliveries_created,
        "last_replayed_time": replay.last_replayed_time.isoformat() if replay.last_replayed_time else None,
        "created_at": replay.created_at.isoformat(),
        "started_at": replay.started_at.isoformat() if replay.started_at else None,
        "ended_at": replay.ended_at.isoformat() if replay.ended_at else None,
    }


def _replay_body(request: HttpRequest) -> dict:
    payload = read_json_body(request)
    if not isinstance(payload, dict):
        raise ApiError(400, "InvalidRequest", "Send the replay as a JSON object.")
    return payload


@api_view(("POST",), scope="admin")
async def preview_replay(request: HttpRequest) -> HttpResponse:
    """What a replay would send, counted before it starts (the confirmation step)."""
    payload = _replay_body(request)

    def run() -> dict:
        counted = preview(parse_spec(payload))
        return {
            "events": counted.events,
            "deliveries": counted.deliveries,
            "deliveries_by_target": counted.by_target,
            "position_ceiling": counted.position_ceiling,
        }

    try:
        return json_response(await sync_to_async(run)())
    except InvalidReplay as error:
        raise ApiError(400, "InvalidReplay", str(error)) from None


@api_view(("POST",), scope="admin")
async def create_replay(request: HttpRequest) -> HttpResponse:
    payload = _replay_body(request)

    def run() -> dict:
        replay = start_replay(
            payload.get("name"),
            parse_spec(payload),
            rate_per_second=payload.get("rate_per_second"),
            position_ceiling=payload.get("position_ceiling"),
            description=str(payload.get("description") or "")[:1000],
        )
        record_audit(
            Action.REPLAY_START,
            f"replay {replay.name}",
            actor=_actor(request),
            count=replay.events_total,
            detail={"bus": replay.bus, "rate_per_second": replay.rate_per_second, "target_ids": replay.target_ids},
        )
        return render_replay(replay)

    try:
        return json_response(await sync_to_async(run)(), status=201)
    except InvalidReplay as error:
        raise ApiError(400, "InvalidReplay", str(error)) from None


@api_view(("GET",), scope="read")
async def list_replays(request: HttpRequest) -> HttpResponse:
    limit = int_param(request, "limit", 100, 1, MAX_PAGE)
    found = [render_replay(r) async for r in Replay.objects.all()[:limit]]
    return json_response({"replays": found})


def _replay_name(name: str) -> str:
    if not REPLAY_NAME.match(name):
        raise ApiError(404, "NotFound", "No replay by that name.")
    return name


@api_view(("GET",), scope="read")
async def get_replay(request: HttpRequest, name: str) -> HttpResponse:
    replay = await Replay.objects.filter(name=_replay_name(name)).afirst()
    if replay is None:
        raise ApiError(404, "NotFound", f"No replay named {name!r}.")
    return json_response(render_replay(replay))


@api_view(("POST",), scope="admin")
async def cancel(request: HttpRequest, name: str) -> HttpResponse:
    if not await Replay.objects.filter(name=_replay_name(name)).aexists():
        raise ApiError(404, "NotFound", f"No replay named {name!r}.")
    if not await sync_to_async(cancel_replay)(name):
        raise ApiError(409, "NotRunning", f"Replay {name!r} is not starting or running.")
    await sync_to_async(record_audit)(Action.REPLAY_CANCEL, f"replay {name}", actor=_actor(request))
    return json_response(render_replay(await Replay.objects.aget(name=name)))


replays = by_method(get=list_replays, post=create_replay)
