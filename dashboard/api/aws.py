"""The EventBridge-compatible endpoint: AWS JSON 1.1 protocol, SigV4-signed, on `POST /`.

It translates AWS shapes to the native ones and calls the same domain functions, so boto3 and the
AWS CLI work against EventHub by changing only `endpoint_url`.
"""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import orjson
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse

from dashboard.jsoncodec import dumps
from dashboard.models import ApiKey
from dashboard.patterns import InvalidPattern, compile_pattern

from . import ingest, sigv4
from .auth import find_key

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
        if not key.has_scope(scope):
            raise AwsError("AccessDeniedException", f"The access key lacks the '{scope}' scope.")
        try:
            params = orjson.loads(body or b"{}")
        except orjson.JSONDecodeError:
            raise AwsError("SerializationException", "The request body is not valid JSON.") from None
        if not isinstance(params, dict):
            raise AwsError("SerializationException", "The request body must be a JSON object.")
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
        sigv4.verify(request, credential, key.secret_digest, body)
    except sigv4.SignatureError as error:
        raise AwsError(error.code, str(error), status=403 if "Signature" in error.code else 400) from None
    if not key.is_active:
        raise AwsError("UnrecognizedClientException", "The security token included in the request is invalid.")
    return key


def _bus_name(value: object) -> str:
    """EventBusName may be a name or an ARN (arn:aws:events:region:account:event-bus/NAME)."""
    if not value:
        return "default"
    return str(value).rsplit("event-bus/", 1)[-1]


def _native_entry(entry: object) -> object:
    """Translate a PutEvents entry to the native shape; leave non-objects for the validator to refuse."""
    if not isinstance(entry, dict):
        return entry
    native: dict = {"bus": _bus_name(entry.get("EventBusName"))}
    for aws_key, key in (("Source", "source"), ("DetailType", "detail-type"), ("Resources", "resources")):
        if aws_key in entry:
            native[key] = entry[aws_key]
    if "TraceHeader" in entry:
        native["trace-header"] = entry["TraceHeader"]
    if "Time" in entry:
        native["time"] = _aws_time(entry["Time"])
    detail = entry.get("Detail")
    if detail is not None:
        try:
            native["detail"] = orjson.loads(detail) if isinstance(detail, str) else detail
        except orjson.JSONDecodeError:
            native["detail"] = detail  # a string: the validator answers MalformedDetail
    return native


def _aws_time(value: object) -> object:
    """boto3 sends epoch seconds; a number no calendar can hold is passed on for the validator to refuse."""
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC).isoformat()
        except (ValueError, OverflowError, OSError):
            return value
    return value


async def put_events(params: dict) -> dict:
    entries = params.get("Entries")
    limit = settings.EVENTHUB["MAX_BATCH_ENTRIES"]
    if not isinstance(entries, list) or not entries:
        raise AwsError("ValidationException", "Entries is required and must hold at least one entry.")
    if len(entries) > limit:
        raise AwsError(
            "ValidationException",
            f"1 validation error detected: Value at 'entries' failed to satisfy constraint: "
            f"Member must have length less than or equal to {limit}",
        )
    native = [_native_entry(entry) for entry in entries]
    results = await ingest.publish(native)
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
        compiled = compile_pattern(pattern)
    except InvalidPattern as error:
        raise AwsError("InvalidEventPatternException", str(error)) from None
    try:
        parsed_event = orjson.loads(event)
    except orjson.JSONDecodeError:
        raise AwsError("InvalidEventPatternException", "Event is not valid JSON.") from None
    if not isinstance(parsed_event, dict):
        raise AwsError("InvalidEventPatternException", "Event must be a JSON object.")
    return {"Result": compiled.matches(parsed_event)}


OPERATIONS: dict[str, Callable[[dict], Awaitable[dict]]] = {
    "PutEvents": put_events,
    "TestEventPattern": test_event_pattern,
}
