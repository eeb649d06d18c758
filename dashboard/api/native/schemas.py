"""The schema registry API: compatibility checks, schemas and their versions, modes. Thin: parse the request,
call dashboard.schemas / dashboard.schemas.registry, render the answer."""

import asyncio

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse
from django.utils.text import slugify

from dashboard.api.errors import ApiError, json_response
from dashboard.api.framework import MAX_PAGE, api_view, by_method, int_param, read_json_body
from dashboard.models import EventSchema, SchemaVersion
from dashboard.schemas import (
    InvalidSchema,
    SchemaTooComplex,
    check_compatibility,
    python_bindings,
    typescript_bindings,
)
from dashboard.schemas.registry import IncompatibleSchema, Kind, check_candidate, configure, register_version

_MODES = ("strict", "lenient")


def _invalid_schema(field: str, error: InvalidSchema) -> ApiError:
    return ApiError(400, "InvalidSchema", f"{field}: {error}")


@api_view(("POST",), scope="read")
async def compatibility(request: HttpRequest) -> HttpResponse:
    payload = read_json_body(request)
    if not isinstance(payload, dict) or "original" not in payload or "update" not in payload:
        raise ApiError(400, "InvalidRequest", 'Send {"original": <schema>, "update": <schema>, "mode": "strict"}.')
    mode = payload.get("mode", "strict")
    if mode not in _MODES:
        raise ApiError(400, "InvalidRequest", '"mode" must be "strict" or "lenient".')
    try:
        # CPU-bound and bounded (see dashboard.schemas.compatibility): in a thread, off the event loop.
        result = await asyncio.to_thread(check_compatibility, payload["original"], payload["update"], mode)
    except InvalidSchema as error:
        raise ApiError(400, "InvalidSchema", str(error)) from None
    except SchemaTooComplex as error:
        raise ApiError(400, "SchemaTooComplex", str(error)) from None
    return json_response(result.to_dict())


def _text(payload: dict, key: str, limit: int, default: str | None = None) -> str:
    value = payload.get(key, default)
    if not isinstance(value, str) or not value or len(value) > limit or "\x00" in value:
        raise ApiError(
            400, "InvalidRequest", f'"{key}" must be a non-empty string of at most {limit} characters, without NUL.'
        )
    return value


def _kind_and_document(request: HttpRequest) -> tuple[Kind, object]:
    payload = read_json_body(request)
    if not isinstance(payload, dict) or "schema" not in payload:
        raise ApiError(
            400, "InvalidRequest", 'Send {"bus": "default", "source": ..., "detail-type": ..., "schema": <schema>}.'
        )
    kind = Kind(_text(payload, "bus", 64, "default"), _text(payload, "source", 256), _text(payload, "detail-type", 256))
    return kind, payload["schema"]


def render_schema(schema: EventSchema, versions: list[SchemaVersion] | None = None) -> dict:
    body = {
        "id": schema.id,
        "bus": schema.bus,
        "source": schema.source,
        "detail-type": schema.detail_type,
        "compatibility": schema.compatibility,
        "rules": schema.rules,
        "validation": schema.validation,
        "warned_count": schema.warned_count,
        "refused_count": schema.refused_count,
        "created_at": schema.created_at,
        "updated_at": schema.updated_at,
    }
    if versions is not None:
        body["versions"] = [{"number": v.number, "created_at": v.created_at} for v in versions]
    return body


def render_version(version: SchemaVersion) -> dict:
    return {
        "schema_id": version.schema_id,
        "number": version.number,
        "created_at": version.created_at,
        "schema": version.document,
    }


@api_view(("GET",), scope="read")
async def list_schemas(request: HttpRequest) -> HttpResponse:
    filters = {
        field: request.GET[param]
        for field, param in (("bus", "bus"), ("source", "source"), ("detail_type", "detail-type"))
        if param in request.GET
    }
    if any("\x00" in value or len(value) > 256 for value in filters.values()):
        raise ApiError(400, "InvalidRequest", "Filters are at most 256 characters, without NUL.")
    limit = int_param(request, "limit", 100, 1, MAX_PAGE)

    def load() -> list[dict]:
        schemas = EventSchema.objects.filter(**filters).prefetch_related("versions")[:limit]
        return [render_schema(schema, list(schema.versions.all())) for schema in schemas]

    return json_response({"schemas": await sync_to_async(load)()})


@api_view(("POST",), scope="admin")
async def register(request: HttpRequest) -> HttpResponse:
    kind, document = _kind_and_document(request)
    try:
        version, created = await sync_to_async(register_version)(kind, document)
    except InvalidSchema as error:
        raise _invalid_schema("schema", error) from None
    except SchemaTooComplex as error:
        raise ApiError(400, "SchemaTooComplex", str(error)) from None
    except IncompatibleSchema as error:
        return json_response(
            {
                "error": {
                    "code": "IncompatibleSchema",
                    "message": f"The schema breaks {error.schema.compatibility} ({error.schema.rules}) compatibility.",
                    "changes": error.problems,
                }
            },
            status=409,
        )
    return json_response(render_version(version), status=201 if created else 200)


schemas = by_method(get=list_schemas, post=register)


@api_view(("POST",), scope="read")
async def check(request: HttpRequest) -> HttpResponse:
    kind, document = _kind_and_document(request)
    try:
        problems = await sync_to_async(check_candidate)(kind, document)
    except InvalidSchema as error:
        raise _invalid_schema("schema", error) from None
    except SchemaTooComplex as error:
        raise ApiError(400, "SchemaTooComplex", str(error)) from None
    return json_response({"compatible": not problems, "changes": problems})


async def _schema(schema_id: int) -> EventSchema:
    schema = await EventSchema.objects.filter(id=schema_id).afirst()
    if schema is None:
        raise ApiError(404, "NotFound", f"No schema with id {schema_id}.")
    return schema


@api_view(("GET",), scope="read")
async def get_schema(request: HttpRequest, schema_id: int) -> HttpResponse:
    schema = await _schema(schema_id)
    versions = [v async for v in schema.versions.order_by("number")]
    return json_response(render_schema(schema, versions))


@api_view(("POST",), scope="admin")
async def set_config(request: HttpRequest, schema_id: int) -> HttpResponse:
    schema = await _schema(schema_id)
    payload = read_json_body(request)
    settings = (
        {key: payload.get(key) for key in ("compatibility", "rules", "validation")} if isinstance(payload, dict) else {}
    )
    if not any(isinstance(value, str) for value in settings.values()):
        raise ApiError(
            400, "InvalidRequest", 'Send any of {"compatibility": "BACKWARD", "rules": "strict", "validation": "off"}.'
        )
    if any(value is not None and not isinstance(value, str) for value in settings.values()):
        raise ApiError(400, "InvalidRequest", "compatibility, rules and validation are strings.")
    kind = Kind(schema.bus, schema.source, schema.detail_type)
    try:
        schema = await sync_to_async(configure)(kind, **settings)
    except ValueError as error:
        raise ApiError(400, "InvalidRequest", str(error)) from None
    return json_response(render_schema(schema))


@api_view(("GET",), scope="read")
async def get_version(request: HttpRequest, schema_id: int, number: int) -> HttpResponse:
    version = await SchemaVersion.objects.filter(schema_id=schema_id, number=number).afirst()
    if version is None:
        raise ApiError(404, "NotFound", f"Schema {schema_id} has no version {number}.")
    return json_response(render_version(version))


_BINDINGS = {
    "python": (python_bindings, "py", "text/x-python"),
    "typescript": (typescript_bindings, "ts", "text/plain"),
}


@api_view(("GET",), scope="read")
async def get_bindings(request: HttpRequest, schema_id: int, number: int) -> HttpResponse:
    language = request.GET.get("language", "python")
    if language not in _BINDINGS:
        raise ApiError(400, "InvalidRequest", '"language" must be "python" or "typescript".')
    version = await SchemaVersion.objects.select_related("schema").filter(schema_id=schema_id, number=number).afirst()
    if version is None:
        raise ApiError(404, "NotFound", f"Schema {schema_id} has no version {number}.")
    generate, extension, content_type = _BINDINGS[language]
    schema = version.schema
    title = f"{schema.bus}/{schema.source}/{schema.detail_type} v{number}"
    try:
        source = await asyncio.to_thread(generate, version.document, schema.detail_type, title)
    except InvalidSchema as error:
        raise ApiError(400, "InvalidSchema", str(error)) from None
    filename = f"{slugify(schema.detail_type) or 'detail'}-v{number}.{extension}"
    return HttpResponse(
        source,
        content_type=f"{content_type}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _errors(*statuses: int) -> dict:
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {str(status): {"description": "Error", **error} for status in statuses}


OPENAPI_PATHS = {
    "/schemas/compatibility": {
        "post": {
            "operationId": "checkSchemaCompatibility",
            "summary": "Is `update` backward compatible with `original`? Confluent's rules and change names.",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["original", "update"],
                            "properties": {
                                "original": {},
                                "update": {},
                                "mode": {"type": "string", "enum": list(_MODES), "default": "strict"},
                            },
                        }
                    }
                },
            },
            "responses": {"200": {"description": "`compatible` and `changes`."}, **_errors(400, 401, 403, 415)},
        }
    },
    "/schemas": {
        "get": {
            "operationId": "listSchemas",
            "parameters": [
                {"name": "bus", "in": "query", "schema": {"type": "string"}},
                {"name": "source", "in": "query", "schema": {"type": "string"}},
                {"name": "detail-type", "in": "query", "schema": {"type": "string"}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}},
            ],
            "responses": {"200": {"description": "Schemas with their modes and versions."}, **_errors(400, 401, 403)},
        },
        "post": {
            "operationId": "registerSchema",
            "summary": "Register the next version of a (bus, source, detail-type) schema; 409 lists what breaks.",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["source", "detail-type", "schema"],
                            "properties": {
                                "bus": {"type": "string", "default": "default"},
                                "source": {"type": "string"},
                                "detail-type": {"type": "string"},
                                "schema": {},
                            },
                        }
                    }
                },
            },
            "responses": {
                "201": {"description": "A new version."},
                "200": {"description": "The latest version already holds this schema."},
                "409": {"description": "Incompatible: `error.changes` says why."},
                **_errors(400, 401, 403, 415),
            },
        },
    },
    "/schemas/check": {
        "post": {
            "operationId": "checkSchema",
            "summary": "Would this schema be accepted as the next version? Nothing is stored.",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
            "responses": {
                "200": {"description": "`compatible` and the breaking `changes`."},
                **_errors(400, 401, 403, 415),
            },
        }
    },
    "/schemas/{schema_id}": {
        "get": {
            "operationId": "getSchema",
            "parameters": [{"name": "schema_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "The schema, its modes and versions."}, **_errors(401, 403, 404)},
        }
    },
    "/schemas/{schema_id}/config": {
        "post": {
            "operationId": "configureSchema",
            "summary": "Set the compatibility mode, rule set and validation at publish.",
            "parameters": [{"name": "schema_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "compatibility": {"type": "string", "enum": list(EventSchema.Compatibility.values)},
                                "rules": {"type": "string", "enum": list(EventSchema.Rules.values)},
                                "validation": {"type": "string", "enum": list(EventSchema.Validation.values)},
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {"description": "The schema with its new settings."},
                **_errors(400, 401, 403, 404, 415),
            },
        }
    },
    "/schemas/{schema_id}/versions/{number}/bindings": {
        "get": {
            "operationId": "getSchemaBindings",
            "summary": "Python dataclasses or TypeScript interfaces for this version's detail.",
            "parameters": [
                {"name": "schema_id", "in": "path", "required": True, "schema": {"type": "integer"}},
                {"name": "number", "in": "path", "required": True, "schema": {"type": "integer"}},
                {"name": "language", "in": "query", "schema": {"type": "string", "enum": list(_BINDINGS)}},
            ],
            "responses": {
                "200": {"description": "The source file.", "content": {"text/plain": {"schema": {"type": "string"}}}},
                **_errors(400, 401, 403, 404),
            },
        }
    },
    "/schemas/{schema_id}/versions/{number}": {
        "get": {
            "operationId": "getSchemaVersion",
            "parameters": [
                {"name": "schema_id", "in": "path", "required": True, "schema": {"type": "integer"}},
                {"name": "number", "in": "path", "required": True, "schema": {"type": "integer"}},
            ],
            "responses": {"200": {"description": "The version's JSON Schema."}, **_errors(401, 403, 404)},
        }
    },
}
