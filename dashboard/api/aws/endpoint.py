"""The EventBridge-compatible endpoint: AWS JSON 1.1 protocol, SigV4-signed, on `POST /`.

It translates AWS shapes to the native ones and calls the same domain functions, so boto3 and the
AWS CLI work against EventHub by changing only `endpoint_url`.
"""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import orjson
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse

from dashboard.api.auth import find_key
from dashboard.api.framework import fast_path
from dashboard.ingest import group_commit as ingest
from dashboard.ingest.publishing import EntryResult
from dashboard.lib.jsoncodec import dumps
from dashboard.models import ApiKey
from dashboard.patterns import InvalidEvent, InvalidPattern, PatternTooComplex, evaluate_pattern

from . import management as aws_management
from . import sigv4

CONTENT_TYPE = "application/x-amz-json-1.1"


class AwsError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def _response(data: object, status: int = 200) -> HttpResponse:
    return HttpResponse(dumps(data), status=status, content_type=CONTENT_TYPE)


def _error(error: AwsError) -> HttpResponse:
    response = _response({"__type": error.code, "message": error.message}, status=error.status)
    response["x-amzn-ErrorType"] = error.code
    return response


@fast_path
async def handle(request: HttpRequest) -> HttpResponse:
    """Entry point for every `X-Amz-Target: AWSEvents.*` request."""
    try:
        body = _body(request)
        key = await _authenticate(request, body)
        operation = request.headers.get("X-Amz-Target", "").removeprefix("AWSEvents.")
        handler = OPERATIONS.get(operation)
        if handler is None:
            raise AwsError("UnknownOperationException", f"Unknown operation {operation!r}.")
        scope = "read" if operation == "TestEventPattern" else "publish"
        if operation in aws_management.OPERATIONS:
            scope = aws_management.SCOPE
            aws_management.acting_key.set(key.access_key_id)
        if not key.has_scope(scope):
            raise AwsError("AccessDeniedException", f"The access key lacks the '{scope}' scope.")
        try:
            params = orjson.loads(body or b"{}")
        except orjson.JSONDecodeError:
            raise AwsError("SerializationException", "The request body is not valid JSON.") from None
        if not isinstance(params, dict):
            raise AwsError("SerializationException", "The request body must be a JSON object.")
        _check_member_types(REQUEST_MEMBERS[operation], params)
        return _response(await handler(params))
    except AwsError as error:
        return _error(error)
    except ingest.StoreUnavailable as error:
        return _error(AwsError("ServiceUnavailable", error.message, status=503))


def _body(request: HttpRequest) -> bytes:
    declared = int(request.META.get("CONTENT_LENGTH") or 0)
    too_big = AwsError("RequestEntityTooLarge", "Request body too large.", status=413)
    if declared > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        raise too_big
    try:
        return request.body
    except RequestDataTooBig:
        raise too_big from None


async def _authenticate(request: HttpRequest, body: bytes) -> ApiKey:
    try:
        credential = sigv4.parse_authorization(request)
        key = await find_key(credential.access_key_id)
        if key is None:
            raise sigv4.SignatureError(
                "UnrecognizedClientException", "The security token included in the request is invalid."
            )
        sigv4.verify(request, credential, key.secret_digests(), body)
    except sigv4.SignatureError as error:
        raise AwsError(error.code, str(error), status=error.status) from None
    if not key.is_active:
        raise AwsError("UnrecognizedClientException", "The security token included in the request is invalid.")
    return key


def _json_type(value: object) -> str:
    """The JSON name of a parsed value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def _check_member_types(members: dict[str, str], params: dict) -> None:
    """A request member of the wrong JSON type fails the whole request, as AWS's deserializer does.

    A null member counts as absent; whether a member is required is the operation's to say.
    """
    for name, expected in members.items():
        value = params.get(name)
        if value is not None and _json_type(value) != expected:
            raise AwsError("SerializationException", f"{name} must be a JSON {expected}, not {_json_type(value)}.")


class InvalidAwsEntry(ValueError):
    """A PutEvents entry AWS would refuse on its own; `code` is AWS's per-entry error code."""

    def __init__(self, message: str, code: str = "InvalidArgument") -> None:
        super().__init__(message)
        self.code = code


_ENTRY_STRINGS = {"Source": "source", "DetailType": "detail-type", "TraceHeader": "trace-header"}


def _native_entry(entry: object) -> dict:
    """Translate a PutEvents entry to the native shape, refusing members of a type AWS does not accept.

    Lengths and required members are the native validator's job, so both APIs answer them alike.
    """
    if not isinstance(entry, dict):
        raise InvalidAwsEntry(f"Each entry must be a JSON object, not {_json_type(entry)}.")
    for name in (*_ENTRY_STRINGS, "EventBusName"):
        if entry.get(name) is not None and not isinstance(entry[name], str):
            raise InvalidAwsEntry(f"{name} must be a string, not {_json_type(entry[name])}.")
    native: dict = {"bus": _bus_name(entry.get("EventBusName"))}
    for aws_key, key in _ENTRY_STRINGS.items():
        if entry.get(aws_key) is not None:
            native[key] = entry[aws_key]
    if entry.get("Resources") is not None:
        native["resources"] = _resources(entry["Resources"])
    if entry.get("Time") is not None:
        native["time"] = _aws_time(entry["Time"])
    if entry.get("Detail") is not None:
        native["detail"] = _detail(entry["Detail"])
    return native


def _bus_name(value: str | None) -> str:
    """EventBusName may be a name or an ARN (arn:aws:events:region:account:event-bus/NAME)."""
    if not value:
        return "default"
    return value.rsplit("event-bus/", 1)[-1]


def _resources(value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidAwsEntry("Resources must be an array of strings.")
    return value


def _aws_time(value: object) -> str:
    """The SDKs send epoch seconds; an ISO 8601 string is passed on for the native validator to parse."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidAwsEntry(f"Time must be epoch seconds or an ISO 8601 string, not {_json_type(value)}.")
    try:
        return datetime.fromtimestamp(value, UTC).isoformat()
    except (ValueError, OverflowError, OSError):
        raise InvalidAwsEntry(f"Time {value} is outside the supported range of dates.") from None


def _detail(value: object) -> object:
    """Detail is a string holding JSON; the native validator checks that it holds an object."""
    if not isinstance(value, str):
        raise InvalidAwsEntry(f"Detail must be a string, not {_json_type(value)}.", code="MalformedDetail")
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        raise InvalidAwsEntry("Detail is not valid JSON.", code="MalformedDetail") from None


def _entries_invalid(value: str, constraint: str) -> AwsError:
    return AwsError(
        "ValidationException",
        f"1 validation error detected: Value {value} at 'entries' failed to satisfy constraint: "
        f"Member must {constraint}",
    )


async def put_events(params: dict) -> dict:
    entries = params.get("Entries")
    limit = settings.EVENTHUB["MAX_BATCH_ENTRIES"]
    if entries is None:
        raise _entries_invalid("null", "not be null")
    if not 1 <= len(entries) <= limit:
        raise _entries_invalid(f"of {len(entries)} entries", f"have length between 1 and {limit}")
    prepared: list[dict | EntryResult] = []
    for entry in entries:
        try:
            prepared.append(_native_entry(entry))
        except InvalidAwsEntry as error:
            prepared.append(EntryResult(error_code=error.code, error_message=str(error)))
    valid = [entry for entry in prepared if isinstance(entry, dict)]
    stored = iter(await ingest.publish(valid) if valid else ())
    results = [entry if isinstance(entry, EntryResult) else next(stored) for entry in prepared]
    return {
        "FailedEntryCount": sum(not r.ok for r in results),
        "Entries": [
            {"EventId": r.event_id} if r.ok else {"ErrorCode": r.error_code, "ErrorMessage": r.error_message}
            for r in results
        ],
    }


async def test_event_pattern(params: dict) -> dict:
    pattern, event = params.get("EventPattern"), params.get("Event")
    if not isinstance(pattern, str) or not isinstance(event, str):
        raise AwsError("ValidationException", "EventPattern and Event are required strings.")
    try:
        parsed_event = orjson.loads(event)
    except orjson.JSONDecodeError:
        raise AwsError("InvalidEventPatternException", "Event is not valid JSON.") from None
    try:
        # CPU-bound, with a time budget: in a worker thread, so the event loop keeps serving other requests.
        explanation = await asyncio.to_thread(evaluate_pattern, pattern, parsed_event)
    except (InvalidPattern, InvalidEvent) as error:
        raise AwsError("InvalidEventPatternException", str(error)) from None
    except PatternTooComplex as error:
        raise AwsError("InvalidEventPatternException", f"Event pattern is too complex: {error.reason}.") from None
    return {"Result": explanation.matched}


OPERATIONS: dict[str, Callable[[dict], Awaitable[dict]]] = {
    "PutEvents": put_events,
    "TestEventPattern": test_event_pattern,
}
# The JSON type of each request member of the operations above, as their AWS API models declare them.
REQUEST_MEMBERS: dict[str, dict[str, str]] = {
    "PutEvents": {"Entries": "array", "EndpointId": "string"},
    "TestEventPattern": {"EventPattern": "string", "Event": "string"},
}
OPERATIONS |= aws_management.OPERATIONS
REQUEST_MEMBERS |= aws_management.REQUEST_MEMBERS
