"""The small framework the JSON API views are written in: a view decorator (method check, API-key
authentication, errors as JSON), the request helpers, dispatch of one URL to several views, and the mark
of the views the publish fast path (fastpath.py) may serve without Django's request cycle."""

import functools
from collections.abc import Awaitable, Callable, Container
from datetime import datetime

import orjson
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from dashboard.ingest import group_commit as ingest
from dashboard.lib.timestamps import parse_utc_timestamp

from .auth import authenticate
from .errors import ApiError, error_response

# Items per page at most, in every list the API pages through.
MAX_PAGE = 500

View = Callable[..., Awaitable[HttpResponse]]


def api_view(methods: tuple[str, ...], scope: str) -> Callable[[View], View]:
    """Wrap an async API view: method check, API-key authentication, errors rendered as JSON."""

    def decorate(view: View) -> View:
        @csrf_exempt
        @functools.wraps(view)
        async def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            try:
                if request.method not in methods:
                    raise ApiError(405, "MethodNotAllowed", f"Use {' or '.join(methods)}.")
                _refuse_nul_in_url(request)
                request.api_key = await authenticate(request, scope)
                return await view(request, *args, **kwargs)
            except ApiError as error:
                return error_response(error)
            except ingest.StoreUnavailable as error:
                return error_response(ApiError(503, "ServiceUnavailable", error.message))

        return wrapper

    return decorate


def fast_path(view: View) -> View:
    """Mark a view the publish fast path may serve: it authenticates with API keys, needs no session, CSRF
    or messages, and answers every expected failure itself. The fast path finds it through the URLconf."""
    view.fast_path = True
    return view


def served_by(view: Callable, method: str, header_names: Container[str]) -> Callable:
    """The view that answers a request resolved to `view`: the one a dispatcher (by_method, by_header)
    chooses for the method and header names (lower case), else `view` itself."""
    choose = getattr(view, "choose", None)
    return choose(method, header_names) if choose is not None else view


def by_method(*, get: View, post: View) -> View:
    """One URL, one API view per method; CSRF-exempt like each of them (API keys, not cookies, authenticate)."""
    return _dispatcher(lambda method, header_names: post if method == "POST" else get)


def by_header(name: str, *, post: View, otherwise: View) -> View:
    """One URL where a POST carrying header `name` goes to `post` and every other request to `otherwise`
    (`/` is the overview page and, for AWS SDKs, which send X-Amz-Target, the EventBridge endpoint)."""
    name = name.lower()
    return _dispatcher(lambda method, header_names: post if method == "POST" and name in header_names else otherwise)


def _dispatcher(choose: Callable[[str, Container[str]], View]) -> View:
    @csrf_exempt
    async def view(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return await choose(request.method, request.headers)(request, *args, **kwargs)

    view.choose = choose
    return view


def _refuse_nul_in_url(request: HttpRequest) -> None:
    """PostgreSQL refuses NUL in text, so a path or query value holding one would fail its query with a 500."""
    query = request.GET.lists()
    if "\x00" in request.path or any("\x00" in name or any("\x00" in v for v in values) for name, values in query):
        raise ApiError(400, "InvalidRequest", "The URL must not contain NUL characters.")


def read_json_body(request: HttpRequest) -> object:
    content_type = request.content_type or ""
    if content_type != "application/json":
        raise ApiError(415, "UnsupportedMediaType", "Send the body as application/json.")
    declared = int(request.META.get("CONTENT_LENGTH") or 0)
    if declared > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        raise _too_large()
    try:
        body = request.body
    except RequestDataTooBig:
        raise _too_large() from None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise ApiError(400, "InvalidJson", f"The body is not valid JSON: {error}") from None


def _too_large() -> ApiError:
    return ApiError(413, "PayloadTooLarge", f"The body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.")


def int_param(request: HttpRequest, name: str, default: int | None, low: int, high: int) -> int | None:
    """A whole-number query parameter within [low, high], or `default` when absent or empty."""
    value = request.GET.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ApiError(400, "InvalidParameter", f"'{name}' must be a whole number.") from None
    if not low <= number <= high:
        raise ApiError(400, "InvalidParameter", f"'{name}' must be between {low} and {high}.")
    return number


def timestamp_param(request: HttpRequest, name: str) -> datetime | None:
    """An ISO 8601 UTC query parameter, or None when absent or empty."""
    value = request.GET.get(name)
    if not value:
        return None
    try:
        return parse_utc_timestamp(value)
    except ValueError as error:
        raise ApiError(400, "InvalidParameter", f"'{name}' {error}.") from None
