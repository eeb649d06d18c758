"""The native configuration API under /api/v1/: buses, rules and their targets, connections, API destinations
and archives; JSON bodies, `admin` scope.

Thin: parse the request, call dashboard.rules.configuration (which the EventBridge API calls too), render the answer.
Rules and targets are put whole with PUT, as PutRule and PutTargets do: omitted settings take their defaults.
"""

from collections.abc import Callable

import orjson
from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse

from dashboard.api.errors import ApiError, json_response
from dashboard.api.framework import api_view, read_json_body
from dashboard.models import ApiDestination, Connection, EventBus, Rule
from dashboard.models.streams import Archive
from dashboard.rules import configuration as config

_STATUS = {
    config.NotFound: (404, "ResourceNotFound"),
    config.AlreadyExists: (409, "ResourceAlreadyExists"),
    config.Invalid: (400, "ValidationError"),
    config.InvalidEventPattern: (400, "InvalidEventPattern"),
}


async def _call(work: Callable, *args, **kwargs):
    try:
        return await sync_to_async(work)(*args, **kwargs)
    except config.ConfigurationError as error:
        status, code = _STATUS[type(error)]
        raise ApiError(status, code, str(error)) from None


def _object_body(request: HttpRequest) -> dict:
    body = read_json_body(request)
    if not isinstance(body, dict):
        raise ApiError(400, "InvalidRequest", "Send a JSON object.")
    return body


def _page(request: HttpRequest) -> dict:
    limit = request.GET.get("limit")
    if limit is not None and not limit.isdigit():
        raise ApiError(400, "InvalidParameter", "'limit' must be a whole number.")
    return {"next_token": request.GET.get("next_token") or None, "limit": int(limit) if limit else None}


def _listing(name: str, page: config.Page, render: Callable) -> HttpResponse:
    return json_response({name: [render(item) for item in page.items], "next_token": page.next_token})


def _actor(request: HttpRequest) -> str:
    return f"api:{request.api_key.access_key_id}"


# Buses.


def render_bus(bus: EventBus) -> dict:
    return {
        "name": bus.name,
        "arn": config.bus_arn(bus.name),
        "description": bus.description,
        "created_at": bus.created_at.isoformat(),
        "updated_at": bus.updated_at.isoformat(),
    }


@api_view(("GET", "POST"), scope="admin")
async def buses(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        body = _object_body(request)
        bus = await _call(config.create_bus, body.get("name"), body.get("description"))
        return json_response(render_bus(bus), status=201)
    page = await _call(config.list_buses, request.GET.get("prefix"), **_page(request))
    return _listing("buses", page, render_bus)


@api_view(("GET", "DELETE"), scope="admin")
async def bus(request: HttpRequest, name: str) -> HttpResponse:
    if request.method == "DELETE":
        await _call(config.delete_bus, name, actor=_actor(request))
        return HttpResponse(status=204)
    return json_response(render_bus(await _call(config.get_bus, name)))


# Rules.


def render_rule(rule: Rule) -> dict:
    return {
        "name": rule.name,
        "arn": config.rule_arn(rule),
        "bus": rule.bus,
        "event_pattern": None if rule.schedule_expression else rule.event_pattern,
        "schedule_expression": rule.schedule_expression or None,
        "state": rule.state.upper(),
        "description": rule.description,
        "updated_at": rule.updated_at.isoformat(),
    }


@api_view(("GET",), scope="admin")
async def rules(request: HttpRequest) -> HttpResponse:
    page = await _call(config.list_rules, request.GET.get("bus"), request.GET.get("prefix"), **_page(request))
    return _listing("rules", page, render_rule)


@api_view(("GET", "PUT", "DELETE"), scope="admin")
async def rule(request: HttpRequest, name: str) -> HttpResponse:
    on_bus = request.GET.get("bus")
    if request.method == "DELETE":
        await _call(config.delete_rule, name, on_bus, force=request.GET.get("force") == "true", actor=_actor(request))
        return HttpResponse(status=204)
    if request.method == "GET":
        return json_response(render_rule(await _call(config.get_rule, name, on_bus)))
    body = _object_body(request)
    put = await _call(
        config.put_rule,
        name,
        event_pattern=_pattern_text(body.get("event_pattern")),
        bus=on_bus or body.get("bus"),
        state=body.get("state"),
        description=body.get("description"),
        schedule_expression=body.get("schedule_expression"),
        actor=_actor(request),
    )
    return json_response(render_rule(put))


def _pattern_text(pattern: object) -> object:
    """The pattern may be sent as a JSON object or as the text of one, as in POST /patterns/test."""
    return orjson.dumps(pattern).decode() if isinstance(pattern, dict) else pattern


# Targets.


@api_view(("GET",), scope="admin")
async def targets(request: HttpRequest, name: str) -> HttpResponse:
    page = await _call(config.list_targets, name, request.GET.get("bus"), **_page(request))
    return _listing("targets", page, config.native_target)


@api_view(("GET", "PUT", "DELETE"), scope="admin")
async def target(request: HttpRequest, name: str, target_id: str) -> HttpResponse:
    on_bus = request.GET.get("bus")
    if request.method == "DELETE":
        failures = await _call(config.remove_targets, name, on_bus, [target_id], actor=_actor(request))
        if failures:
            raise ApiError(404, "ResourceNotFound", failures[0].message)
        return HttpResponse(status=204)
    if request.method == "PUT":
        spec = await _call(config.native_target_spec, target_id, _object_body(request))
        failures = await _call(config.put_targets, name, on_bus, [spec], actor=_actor(request))
        if failures:
            raise ApiError(400, "ValidationError", failures[0].message)
    found = await _call(config.get_target, name, on_bus, target_id)
    return json_response(config.native_target(found))


# Connections and API destinations. Authorization is sent as {"api_key": {"name", "value"}},
# {"basic": {"username", "password"}} or {"oauth": {"client_id", "client_secret", "authorization_endpoint",
# "http_method", "header_parameters", "query_parameters", "body_parameters"}}, with optional
# "invocation_headers"; every list of parameters is [{"key", "value", "is_value_secret"}].

_AUTH_SHAPES = {
    "api_key": ("ApiKeyAuthParameters", {"name": "ApiKeyName", "value": "ApiKeyValue"}),
    "basic": ("BasicAuthParameters", {"username": "Username", "password": "Password"}),
}
_HEADER_SHAPE = {"key": "Key", "value": "Value", "is_value_secret": "IsValueSecret"}
_OAUTH_CLIENT_SHAPE = {"client_id": "ClientID", "client_secret": "ClientSecret"}
_OAUTH_SHAPE = {"authorization_endpoint": "AuthorizationEndpoint", "http_method": "HttpMethod"}
_OAUTH_HTTP_SHAPE = {
    "header_parameters": "HeaderParameters",
    "query_parameters": "QueryStringParameters",
    "body_parameters": "BodyParameters",
}


def _aws_key_values(parameters: object) -> object:
    if not isinstance(parameters, list):
        return parameters
    return [
        {aws: p[name] for name, aws in _HEADER_SHAPE.items() if name in p} if isinstance(p, dict) else p
        for p in parameters
    ]


def _native_key_values(parameters: list[dict]) -> list[dict]:
    return [{name: p[aws] for name, aws in _HEADER_SHAPE.items() if aws in p} for p in parameters]


def _aws_oauth(oauth: dict) -> dict:
    converted: dict = {aws: oauth[name] for name, aws in _OAUTH_SHAPE.items() if name in oauth}
    client = {aws: oauth[name] for name, aws in _OAUTH_CLIENT_SHAPE.items() if name in oauth}
    if client:
        converted["ClientParameters"] = client
    http = {aws: _aws_key_values(oauth[name]) for name, aws in _OAUTH_HTTP_SHAPE.items() if name in oauth}
    if http:
        converted["OAuthHttpParameters"] = http
    return converted


def _native_oauth(shown: dict) -> dict:
    rendered = {name: shown[aws] for name, aws in _OAUTH_SHAPE.items()}
    rendered["client_id"] = shown["ClientParameters"]["ClientID"]
    http = shown.get("OAuthHttpParameters", {})
    rendered |= {name: _native_key_values(http[aws]) for name, aws in _OAUTH_HTTP_SHAPE.items() if aws in http}
    return rendered


def _aws_auth(auth: object) -> object:
    """The native authorization object in AWS's AuthParameters shape (validated by the domain)."""
    if not isinstance(auth, dict):
        return auth
    converted: dict = {}
    for native, (member, fields) in _AUTH_SHAPES.items():
        if isinstance(auth.get(native), dict):
            converted[member] = {aws: auth[native][name] for name, aws in fields.items() if name in auth[native]}
    if isinstance(auth.get("oauth"), dict):
        converted["OAuthParameters"] = _aws_oauth(auth["oauth"])
    headers = auth.get("invocation_headers")
    if isinstance(headers, list):
        converted["InvocationHttpParameters"] = {"HeaderParameters": _aws_key_values(headers)}
    return converted


def _native_auth(shown: dict) -> dict:
    rendered: dict = {}
    for native, (member, fields) in _AUTH_SHAPES.items():
        if member in shown:
            rendered[native] = {name: shown[member][aws] for name, aws in fields.items() if aws in shown[member]}
    if "OAuthParameters" in shown:
        rendered["oauth"] = _native_oauth(shown["OAuthParameters"])
    if "InvocationHttpParameters" in shown:
        rendered["invocation_headers"] = _native_key_values(shown["InvocationHttpParameters"]["HeaderParameters"])
    return rendered


def render_connection(connection: Connection) -> dict:
    return {
        "name": connection.name,
        "arn": config.connection_arn(connection),
        "authorization_type": connection.authorization_type,
        "auth": _native_auth(config.shown_auth_parameters(connection)),
        "state": connection.state,
        "description": connection.description,
        "updated_at": connection.updated_at.isoformat(),
    }


@api_view(("GET", "POST"), scope="admin")
async def connections(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        body = _object_body(request)
        created = await _call(
            config.create_connection,
            body.get("name"),
            authorization_type=body.get("authorization_type"),
            auth_parameters=_aws_auth(body.get("auth")),
            description=body.get("description"),
        )
        return json_response(render_connection(created), status=201)
    page = await _call(config.list_connections, request.GET.get("prefix"), request.GET.get("state"), **_page(request))
    return _listing("connections", page, render_connection)


@api_view(("GET", "PATCH", "DELETE"), scope="admin")
async def connection(request: HttpRequest, name: str) -> HttpResponse:
    if request.method == "DELETE":
        await _call(config.delete_connection, name, actor=_actor(request))
        return HttpResponse(status=204)
    if request.method == "GET":
        return json_response(render_connection(await _call(config.get_connection, name)))
    body = _object_body(request)
    updated = await _call(
        config.update_connection,
        name,
        authorization_type=body.get("authorization_type"),
        auth_parameters=_aws_auth(body["auth"]) if "auth" in body else None,
        description=body.get("description"),
    )
    return json_response(render_connection(updated))


def render_api_destination(destination: ApiDestination) -> dict:
    return {
        "name": destination.name,
        "arn": config.api_destination_arn(destination),
        "connection": destination.connection.name,
        "connection_arn": config.connection_arn(destination.connection),
        "invocation_endpoint": destination.invocation_endpoint,
        "http_method": destination.http_method,
        "invocation_rate_limit_per_second": destination.invocation_rate_limit_per_second,
        "description": destination.description,
        "updated_at": destination.updated_at.isoformat(),
    }


_DESTINATION_SETTINGS = ("invocation_endpoint", "http_method", "invocation_rate_limit_per_second", "description")


@api_view(("GET", "POST"), scope="admin")
async def api_destinations(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        body = _object_body(request)
        created = await _call(
            config.create_api_destination,
            body.get("name"),
            connection=body.get("connection"),
            **{name: body.get(name) for name in _DESTINATION_SETTINGS},
        )
        return json_response(render_api_destination(created), status=201)
    page = await _call(
        config.list_api_destinations, request.GET.get("prefix"), request.GET.get("connection"), **_page(request)
    )
    return _listing("api_destinations", page, render_api_destination)


@api_view(("GET", "PATCH", "DELETE"), scope="admin")
async def api_destination(request: HttpRequest, name: str) -> HttpResponse:
    if request.method == "DELETE":
        await _call(config.delete_api_destination, name, actor=_actor(request))
        return HttpResponse(status=204)
    if request.method == "GET":
        return json_response(render_api_destination(await _call(config.get_api_destination, name)))
    body = _object_body(request)
    changes = {name: body[name] for name in ("connection", *_DESTINATION_SETTINGS) if name in body}
    return json_response(render_api_destination(await _call(config.update_api_destination, name, **changes)))


# Archives (replays of them: /api/v1/replays, in streams.py).


def render_archive(archive: Archive) -> dict:
    return {
        "name": archive.name,
        "arn": config.archive_arn(archive.name),
        "bus": archive.bus,
        "event_pattern": archive.event_pattern or None,
        "retention_days": archive.retention_days,
        "description": archive.description,
        "created_at": archive.created_at.isoformat(),
    }


@api_view(("GET", "POST"), scope="admin")
async def archives(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        body = _object_body(request)
        created = await _call(
            config.create_archive,
            body.get("name"),
            bus=body.get("bus") or config.DEFAULT_BUS,
            description=body.get("description"),
            event_pattern=_pattern_text(body.get("event_pattern")),
            retention_days=body.get("retention_days"),
        )
        return json_response(render_archive(created), status=201)
    page = await _call(config.list_archives, request.GET.get("prefix"), request.GET.get("bus"), **_page(request))
    return _listing("archives", page, render_archive)


@api_view(("GET", "PATCH", "DELETE"), scope="admin")
async def archive(request: HttpRequest, name: str) -> HttpResponse:
    if request.method == "DELETE":
        await _call(config.delete_archive, name)
        return HttpResponse(status=204)
    if request.method == "GET":
        return json_response(render_archive(await _call(config.get_archive, name)))
    body = _object_body(request)
    updated = await _call(
        config.update_archive,
        name,
        description=body.get("description"),
        event_pattern=_pattern_text(body.get("event_pattern")),
        retention_days=body.get("retention_days"),
    )
    return json_response(render_archive(updated))


# The OpenAPI description of these paths (merged into /api/v1/openapi.json by openapi.py).
_ERROR_REF = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_OBJECT = {"application/json": {"schema": {"type": "object"}}}
_NAME = {"type": "string", "minLength": 1, "maxLength": config.NAME_LENGTH, "pattern": f"^{config.NAME_CHARACTERS}+$"}
_DESCRIPTION = {"type": "string", "maxLength": config.MAX_DESCRIPTION}


def _integer_within(bounds: tuple[int, int]) -> dict:
    return {"type": "integer", "minimum": bounds[0], "maximum": bounds[1]}


def _errors(*statuses: int) -> dict:
    return {str(status): {"description": "Error", "content": _ERROR_REF} for status in statuses}


def _ok(description: str, status: int = 200) -> dict:
    return {str(status): {"description": description, "content": _OBJECT}}


def _one(operation_id: str, description: str) -> dict:
    """GET of one named resource."""
    return {"operationId": operation_id, "responses": {**_ok(description), **_errors(400, 401, 403, 404)}}


def _deleted(operation_id: str) -> dict:
    return {
        "operationId": operation_id,
        "responses": {"204": {"description": "Deleted."}, **_errors(400, 401, 403, 404)},
    }


def _in_path(*names: str) -> list[dict]:
    return [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in names]


def _query(*names: str) -> list[dict]:
    schemas = {"limit": {"type": "integer", "minimum": 1, "maximum": config.MAX_PAGE}, "force": {"type": "boolean"}}
    return [{"name": name, "in": "query", "schema": schemas.get(name, {"type": "string"})} for name in names]


def _body(properties: dict, required: tuple[str, ...] = ()) -> dict:
    schema = {"type": "object", "properties": properties, "required": list(required)} if required else None
    schema = schema or {"type": "object", "properties": properties}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_RULE_BODY = {
    "event_pattern": {"description": "An EventBridge event pattern, as an object or as its JSON text."},
    "schedule_expression": {"type": "string", "description": "rate(5 minutes) or cron(0 12 * * ? *), instead."},
    "state": {"type": "string", "enum": ["ENABLED", "DISABLED"]},
    "description": _DESCRIPTION,
    "bus": {"type": "string"},
}
_TARGET_BODY = {
    "arn": {
        "type": "string",
        "description": "An API destination's ARN, arn:aws:lambda:REGION:ACCOUNT:function:HANDLER, or an https URL.",
    },
    "input": {"type": "string", "description": "Constant JSON text sent instead of the event."},
    "input_path": {"type": "string"},
    "input_transformer": {"type": "object"},
    "retry_policy": {
        "type": "object",
        "properties": {
            "maximum_retry_attempts": _integer_within(config.RETRY_ATTEMPTS),
            "maximum_event_age_seconds": _integer_within(config.EVENT_AGE_SECONDS),
        },
    },
    "dead_letter_arn": {"type": "string"},
    "http_parameters": {"type": "object"},
}
_CONNECTION_BODY = {
    "name": _NAME,
    "authorization_type": {"type": "string", "enum": ["API_KEY", "BASIC", "OAUTH_CLIENT_CREDENTIALS"]},
    "auth": {
        "type": "object",
        "properties": {
            "api_key": {"type": "object", "properties": {"name": {"type": "string"}, "value": {"type": "string"}}},
            "basic": {
                "type": "object",
                "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
            },
            "oauth": {
                "type": "object",
                "properties": {
                    "client_id": {"type": "string"},
                    "client_secret": {"type": "string"},
                    "authorization_endpoint": {"type": "string"},
                    "http_method": {"type": "string", "enum": ["GET", "POST", "PUT"]},
                    "header_parameters": {"type": "array", "items": {"type": "object"}},
                    "query_parameters": {"type": "array", "items": {"type": "object"}},
                    "body_parameters": {"type": "array", "items": {"type": "object"}},
                },
            },
            "invocation_headers": {"type": "array", "items": {"type": "object"}},
        },
    },
    "description": _DESCRIPTION,
}
_DESTINATION_BODY = {
    "name": _NAME,
    "connection": {"type": "string", "description": "The connection's name or ARN."},
    "invocation_endpoint": {"type": "string"},
    "http_method": {"type": "string", "enum": ["POST", "PUT", "PATCH"]},
    "invocation_rate_limit_per_second": _integer_within(config.INVOCATION_RATE),
    "description": _DESCRIPTION,
}
_ARCHIVE_BODY = {
    "name": {
        "type": "string",
        "minLength": 1,
        "maxLength": config.ARCHIVE_NAME_LENGTH,
        "pattern": f"^{config.ARCHIVE_NAME_CHARACTERS}+$",
    },
    "bus": {"type": "string", "default": "default"},
    "event_pattern": {"description": "Only events matching it are archived (an object or its JSON text)."},
    "retention_days": {"type": "integer", "minimum": 0, "description": "0 keeps them forever."},
    "description": _DESCRIPTION,
}
OPENAPI_PATHS = {
    "/buses": {
        "get": {
            "operationId": "listBuses",
            "parameters": _query("prefix", "limit", "next_token"),
            "responses": {**_ok("A page of buses."), **_errors(400, 401, 403)},
        },
        "post": {
            "operationId": "createBus",
            "requestBody": _body({"name": {"type": "string"}, "description": {"type": "string"}}, ("name",)),
            "responses": {**_ok("The bus.", 201), **_errors(400, 401, 403, 409, 415)},
        },
    },
    "/buses/{name}": {
        "parameters": _in_path("name"),
        "get": _one("getBus", "The bus."),
        "delete": {
            "operationId": "deleteBus",
            "summary": "Idempotent; refused for the default bus and for a bus with rules.",
            "responses": {"204": {"description": "Deleted."}, **_errors(400, 401, 403)},
        },
    },
    "/rules": {
        "get": {
            "operationId": "listRules",
            "parameters": _query("bus", "prefix", "limit", "next_token"),
            "responses": {**_ok("A page of rules."), **_errors(400, 401, 403, 404)},
        }
    },
    "/rules/{name}": {
        "parameters": [*_in_path("name"), *_query("bus")],
        "get": _one("getRule", "The rule."),
        "put": {
            "operationId": "putRule",
            "summary": "Create the rule or replace its settings (like PutRule).",
            "requestBody": _body(_RULE_BODY),
            "responses": {**_ok("The rule."), **_errors(400, 401, 403, 404, 415)},
        },
        "delete": {
            "operationId": "deleteRule",
            "summary": "Refused while the rule has targets, unless force=true.",
            "parameters": _query("force"),
            "responses": {"204": {"description": "Deleted."}, **_errors(400, 401, 403)},
        },
    },
    "/rules/{name}/targets": {
        "parameters": [*_in_path("name"), *_query("bus")],
        "get": {
            "operationId": "listTargets",
            "parameters": _query("limit", "next_token"),
            "responses": {**_ok("A page of targets."), **_errors(400, 401, 403, 404)},
        },
    },
    "/rules/{name}/targets/{target_id}": {
        "parameters": [*_in_path("name", "target_id"), *_query("bus")],
        "get": _one("getTarget", "The target."),
        "put": {
            "operationId": "putTarget",
            "summary": "Create the target or replace it (like PutTargets).",
            "requestBody": _body(_TARGET_BODY, ("arn",)),
            "responses": {**_ok("The target."), **_errors(400, 401, 403, 404, 415)},
        },
        "delete": _deleted("deleteTarget"),
    },
    "/connections": {
        "get": {
            "operationId": "listConnections",
            "parameters": _query("prefix", "state", "limit", "next_token"),
            "responses": {**_ok("A page of connections (never with their secrets)."), **_errors(400, 401, 403)},
        },
        "post": {
            "operationId": "createConnection",
            "requestBody": _body(_CONNECTION_BODY, ("name", "authorization_type", "auth")),
            "responses": {**_ok("The connection.", 201), **_errors(400, 401, 403, 409, 415)},
        },
    },
    "/connections/{name}": {
        "parameters": _in_path("name"),
        "get": _one("getConnection", "The connection."),
        "patch": {
            "operationId": "updateConnection",
            "summary": "Change what is sent; secrets not sent again are kept.",
            "requestBody": _body(_CONNECTION_BODY),
            "responses": {**_ok("The connection."), **_errors(400, 401, 403, 404, 415)},
        },
        "delete": _deleted("deleteConnection"),
    },
    "/api-destinations": {
        "get": {
            "operationId": "listApiDestinations",
            "parameters": _query("prefix", "connection", "limit", "next_token"),
            "responses": {**_ok("A page of API destinations."), **_errors(400, 401, 403, 404)},
        },
        "post": {
            "operationId": "createApiDestination",
            "requestBody": _body(_DESTINATION_BODY, ("name", "connection", "invocation_endpoint", "http_method")),
            "responses": {**_ok("The API destination.", 201), **_errors(400, 401, 403, 404, 409, 415)},
        },
    },
    "/api-destinations/{name}": {
        "parameters": _in_path("name"),
        "get": _one("getApiDestination", "The API destination."),
        "patch": {
            "operationId": "updateApiDestination",
            "summary": "Change its settings; the targets that use it follow.",
            "requestBody": _body(_DESTINATION_BODY),
            "responses": {**_ok("The API destination."), **_errors(400, 401, 403, 404, 415)},
        },
        "delete": _deleted("deleteApiDestination"),
    },
    "/archives": {
        "get": {
            "operationId": "listArchives",
            "parameters": _query("prefix", "bus", "limit", "next_token"),
            "responses": {**_ok("A page of archives."), **_errors(400, 401, 403)},
        },
        "post": {
            "operationId": "createArchive",
            "requestBody": _body(_ARCHIVE_BODY, ("name",)),
            "responses": {**_ok("The archive.", 201), **_errors(400, 401, 403, 404, 409, 415)},
        },
    },
    "/archives/{name}": {
        "parameters": _in_path("name"),
        "get": _one("getArchive", "The archive."),
        "patch": {
            "operationId": "updateArchive",
            "requestBody": _body(_ARCHIVE_BODY),
            "responses": {**_ok("The archive."), **_errors(400, 401, 403, 404, 415)},
        },
        "delete": _deleted("deleteArchive"),
    },
}
