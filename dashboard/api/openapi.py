"""OpenAPI 3 description of the native API, served at /api/v1/openapi.json."""

from django.http import HttpRequest, HttpResponse

from .errors import json_response

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}
_ENTRY = {
    "type": "object",
    "required": ["source", "detail-type"],
    "properties": {
        "id": {"type": "string", "maxLength": 64, "description": "Supply one to make retries idempotent."},
        "bus": {"type": "string", "maxLength": 64, "default": "default"},
        "source": {"type": "string", "minLength": 1, "maxLength": 256},
        "detail-type": {"type": "string", "minLength": 1, "maxLength": 256},
        "detail": {"type": "object"},
        "time": {"type": "string", "format": "date-time"},
        "resources": {"type": "array", "items": {"type": "string"}},
        "trace-header": {"type": "string", "maxLength": 500},
        "correlation-id": {"type": "string", "maxLength": 128},
        "causation-id": {"type": "string", "maxLength": 128},
    },
}
_EVENT = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "position": {"type": "integer"},
        "bus": {"type": "string"},
        "source": {"type": "string"},
        "detail-type": {"type": "string"},
        "detail": {"type": "object"},
        "time": {"type": "string", "format": "date-time"},
        "received_at": {"type": "string", "format": "date-time"},
        "resources": {"type": "array", "items": {"type": "string"}},
    },
}


def _errors(*statuses: int) -> dict:
    return {
        str(s): {
            "description": "Error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for s in statuses
    }


SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "EventHub native API", "version": "1"},
    "servers": [{"url": "/api/v1"}],
    "security": [{"apiKey": []}],
    "components": {
        "securitySchemes": {
            "apiKey": {
                "type": "http",
                "scheme": "bearer",
                "description": "`Authorization: Bearer <access_key_id>:<secret_access_key>`",
            }
        },
        "schemas": {"Error": _ERROR, "Entry": _ENTRY, "Event": _EVENT},
    },
    "paths": {
        "/events": {
            "post": {
                "operationId": "publishEvents",
                "summary": "Publish one event or a batch of up to 10 (like PutEvents).",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "oneOf": [
                                    {"$ref": "#/components/schemas/Entry"},
                                    {"type": "array", "items": {"$ref": "#/components/schemas/Entry"}},
                                    {
                                        "type": "object",
                                        "required": ["entries"],
                                        "properties": {
                                            "entries": {
                                                "type": "array",
                                                "items": {"$ref": "#/components/schemas/Entry"},
                                            }
                                        },
                                    },
                                ]
                            }
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "At least one entry accepted; one result per entry, in request order.",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "400": {"description": "Bad request, or every entry was refused."},
                    **_errors(401, 403, 405, 413, 415),
                },
            },
            "get": {
                "operationId": "listEvents",
                "summary": "Newest first, with cursor pagination.",
                "parameters": [
                    {"name": "bus", "in": "query", "schema": {"type": "string"}},
                    {"name": "source", "in": "query", "schema": {"type": "string"}},
                    {"name": "detail-type", "in": "query", "schema": {"type": "string"}},
                    {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                    {"name": "until", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                    {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
                ],
                "responses": {
                    "200": {
                        "description": "A page of events and the cursor of the next page (null at the end).",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    **_errors(400, 401, 403),
                },
            },
        },
        "/events/{event_id}": {
            "get": {
                "operationId": "getEvent",
                "parameters": [{"name": "event_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {
                    "200": {
                        "description": "The event.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Event"}}},
                    },
                    **_errors(401, 403, 404),
                },
            }
        },
        "/patterns/test": {
            "post": {
                "operationId": "testPattern",
                "summary": "Does this event match this EventBridge pattern, and why (or why not)?",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["pattern", "event"],
                                "properties": {"pattern": {}, "event": {"type": "object"}},
                            }
                        }
                    },
                },
                "responses": {
                    "200": {"description": "The verdict and the explainer's trace."},
                    **_errors(400, 401, 403, 415),
                },
            }
        },
    },
}


def openapi_json(request: HttpRequest) -> HttpResponse:
    return json_response(SPEC)
