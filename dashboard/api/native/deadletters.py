"""The dead-letter API (scope `admin`): list, inspect, dry-run, redrive and purge. Thin: parse the request,
call dashboard.delivery.redrive, render the answer.

A redrive, dry run or purge names its selection as `{"ids": [...]}` or `{"filter": {...}}` (the same
fields as the list's query parameters; `{"filter": {}}` means every dead letter), never implicitly.
"""

import asyncio
import uuid
from datetime import datetime

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse

from dashboard.api.errors import ApiError, json_response
from dashboard.api.framework import MAX_PAGE, api_view, int_param, read_json_body, timestamp_param
from dashboard.audit import Action, record_audit
from dashboard.delivery.redrive import (
    DeadLetterFilter,
    dead_letters,
    dry_run_redrive,
    purge_dead_letters,
    redrive_dead_letters,
)
from dashboard.lib.ids import parse_uuid
from dashboard.lib.timestamps import parse_utc_timestamp
from dashboard.models import Delivery

MAX_IDS = 10_000
MAX_RATE = 10_000.0
STATUS_CODES = (100, 599)


def _render(delivery: Delivery, *, with_attempts: bool = False) -> dict:
    rendered = {
        "id": str(delivery.id),
        "webhook_id": delivery.webhook_id,
        "event_id": delivery.event.event_id,
        "rule_id": delivery.rule_id,
        "target_id": delivery.target_id,
        "state": delivery.state,
        "dead_reason": delivery.dead_reason,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "attempts": delivery.attempts,
        "created_at": delivery.created_at.isoformat(),
        "completed_at": delivery.completed_at.isoformat() if delivery.completed_at else None,
        "redrive_count": delivery.redrive_count,
        "redriven_at": delivery.redriven_at.isoformat() if delivery.redriven_at else None,
        "redriven_by": delivery.redriven_by_name or None,
    }
    if with_attempts:
        rendered["attempt_log"] = [
            {
                "round": a.round,
                "number": a.number,
                "started_at": a.started_at.isoformat(),
                "duration_ms": a.duration_ms,
                "succeeded": a.succeeded,
                "status_code": a.status_code,
                "error": a.error,
                "response_excerpt": a.response_excerpt,
                "request_headers": a.request_headers,
            }
            for a in delivery.attempt_log.all()
        ]
    return rendered


def _filter_from_query(request: HttpRequest) -> DeadLetterFilter:
    return DeadLetterFilter(
        rule_id=int_param(request, "rule_id", None, 1, 2**63 - 1),
        target_id=int_param(request, "target_id", None, 1, 2**63 - 1),
        error=request.GET.get("error", "")[:500],
        status_code=int_param(request, "status_code", None, *STATUS_CODES),
        since=timestamp_param(request, "since"),
        until=timestamp_param(request, "until"),
    )


def _number(data: dict, key: str, low: int, high: int) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ApiError(400, "InvalidParameter", f"'{key}' must be a whole number between {low} and {high}.")
    return value


def _time(data: dict, key: str) -> datetime | None:
    value = data.get(key)
    if value is None:
        return None
    try:
        return parse_utc_timestamp(value if isinstance(value, str) else "")
    except ValueError:
        raise ApiError(400, "InvalidParameter", f"'{key}' must be an ISO 8601 timestamp with a time zone.") from None


def _filter_from_body(data: object) -> DeadLetterFilter:
    if not isinstance(data, dict):
        raise ApiError(400, "InvalidRequest", "'filter' must be an object.")
    unknown = set(data) - {"rule_id", "target_id", "error", "status_code", "since", "until"}
    if unknown:
        raise ApiError(400, "InvalidParameter", f"Unknown filter fields: {', '.join(sorted(unknown))}.")
    error = data.get("error", "")
    if not isinstance(error, str) or "\x00" in error:  # PostgreSQL refuses NUL in text: the query would fail
        raise ApiError(400, "InvalidParameter", "'error' must be a string without NUL characters.")
    return DeadLetterFilter(
        rule_id=_number(data, "rule_id", 1, 2**63 - 1),
        target_id=_number(data, "target_id", 1, 2**63 - 1),
        error=error[:500],
        status_code=_number(data, "status_code", *STATUS_CODES),
        since=_time(data, "since"),
        until=_time(data, "until"),
    )


def _selection(payload: object) -> list[uuid.UUID] | DeadLetterFilter:
    if not isinstance(payload, dict) or ("ids" in payload) == ("filter" in payload):
        raise ApiError(400, "InvalidRequest", 'Name the dead letters: {"ids": [...]} or {"filter": {...}}.')
    if "filter" in payload:
        return _filter_from_body(payload["filter"])
    ids = payload["ids"]
    if not isinstance(ids, list) or not 0 < len(ids) <= MAX_IDS:
        raise ApiError(400, "InvalidRequest", f"'ids' must be a list of 1 to {MAX_IDS} delivery ids.")
    parsed = [parse_uuid(i) for i in ids]
    if None in parsed:
        raise ApiError(400, "InvalidParameter", "Every id must be a delivery id (a UUID).")
    return parsed


def _selected(selection: list[uuid.UUID] | DeadLetterFilter):
    return dead_letters(selection) if isinstance(selection, DeadLetterFilter) else selection


def _actor(request: HttpRequest) -> str:
    return f"api:{request.api_key.access_key_id}"


def _described(selection: list[uuid.UUID] | DeadLetterFilter) -> str:
    """The selection in words, for the audit log."""
    if isinstance(selection, list):
        return f"dead letters ({len(selection)} ids)"
    named = [f"{name}={value}" for name, value in vars(selection).items() if value not in (None, "")]
    return "dead letters" + (f" ({', '.join(named)})" if named else "")


@api_view(("GET",), scope="admin")
async def list_dead_letters(request: HttpRequest) -> HttpResponse:
    """Newest deliveries first, with a cursor (the last id seen)."""
    found = dead_letters(_filter_from_query(request)).select_related("event").order_by("-id")
    if cursor := request.GET.get("cursor"):
        if (last_seen := parse_uuid(cursor)) is None:
            raise ApiError(400, "InvalidParameter", "'cursor' must be a value of next_cursor.")
        found = found.filter(id__lt=last_seen)
    limit = int_param(request, "limit", 100, 1, MAX_PAGE)
    page = [d async for d in found[: limit + 1]]
    more = len(page) > limit
    page = page[:limit]
    return json_response(
        {"dead_letters": [_render(d) for d in page], "next_cursor": str(page[-1].id) if more else None}
    )


@api_view(("GET",), scope="admin")
async def get_dead_letter(request: HttpRequest, delivery_id: str) -> HttpResponse:
    key = parse_uuid(delivery_id)
    if key is None:
        raise ApiError(404, "NotFound", "No dead letter with that id.")
    found = dead_letters().filter(id=key).select_related("event").prefetch_related("attempt_log")
    delivery = await found.afirst()
    if delivery is None:
        raise ApiError(404, "NotFound", "No dead letter with that id.")
    return json_response(_render(delivery, with_attempts=True))


@api_view(("POST",), scope="admin")
async def redrive(request: HttpRequest) -> HttpResponse:
    payload = read_json_body(request)
    selection = _selection(payload)
    rate = payload.get("rate")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate <= MAX_RATE):
        raise ApiError(
            400, "InvalidParameter", f"'rate' must be a number of deliveries per second, 0 < rate <= {MAX_RATE:g}."
        )

    def run():
        result = redrive_dead_letters(_selected(selection), actor=_actor(request), rate=rate)
        detail = {"skipped": result.skipped}
        record_audit(Action.REDRIVE, _described(selection), actor=_actor(request), count=result.redriven, detail=detail)
        return result

    result = await asyncio.shield(sync_to_async(run)())
    return json_response({"redriven": result.redriven, "skipped": result.skipped})


@api_view(("POST",), scope="admin")
async def dry_run(request: HttpRequest) -> HttpResponse:
    selection = _selection(read_json_body(request))
    buckets = await sync_to_async(lambda: dry_run_redrive(_selected(selection)))()
    return json_response({"buckets": buckets, "total": sum(buckets.values())})


@api_view(("POST",), scope="admin")
async def purge(request: HttpRequest) -> HttpResponse:
    selection = _selection(read_json_body(request))

    def run() -> int:
        purged = purge_dead_letters(_selected(selection), actor=_actor(request))
        record_audit(Action.PURGE, _described(selection), actor=_actor(request), count=purged)
        return purged

    return json_response({"purged": await asyncio.shield(sync_to_async(run)())})
