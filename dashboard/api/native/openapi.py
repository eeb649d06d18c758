"""OpenAPI 3 description of the native API, served at /api/v1/openapi.json.

Written by hand, but every limit it states (lengths, counts, ranges) is the constant or setting the
validation uses, imported from where it is defined; tests/test_layout_openapi.py checks both.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from dashboard.api.errors import json_response
from dashboard.api.framework import MAX_PAGE
from dashboard.eventsourcing import replay
from dashboard.ingest.publishing import TEXT_LIMITS

from . import deadletters
from .configuration import OPENAPI_PATHS as _CONFIGURATION_PATHS
from .schemas import OPENAPI_PATHS as _SCHEMA_PATHS
from .streams import MAX_APPEND_EVENTS

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
        "id": {
            "type": "string",
            "maxLength": TEXT_LIMITS["id"],
            "description": "Supply one to make retries idempotent.",
        },
        "bus": {"type": "string", "maxLength": TEXT_LIMITS["bus"], "default": "default"},
        "source": {"type": "string", "minLength": 1, "maxLength": TEXT_LIMITS["source"]},
        "detail-type": {"type": "string", "minLength": 1, "maxLength": TEXT_LIMITS["detail-type"]},
        "detail": {"type": "object"},
        "time": {"type": "string", "format": "date-time"},
        "resources": {"type": "array", "items": {"type": "string"}},
        "trace-header": {"type": "string", "maxLength": TEXT_LIMITS["trace-header"]},
        "correlation-id": {"type": "string", "maxLength": TEXT_LIMITS["correlation-id"]},
        "causation-id": {"type": "string", "maxLength": TEXT_LIMITS["causation-id"]},
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


_CLOUDEVENT = {
    "type": "object",
    "description": "A CloudEvent in JSON format; `data` (a JSON object) becomes the detail.",
    "required": ["specversion", "id", "source", "type"],
    "properties": {
        "specversion": {"type": "string", "enum": ["1.0"]},
        "id": {"type": "string"},
        "source": {"type": "string"},
        "type": {"type": "string"},
        "time": {"type": "string", "format": "date-time"},
        "subject": {"type": "string"},
        "data": {"type": "object"},
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


_JSON_OBJECT = {"application/json": {"schema": {"type": "object"}}}


def _ok(description: str, status: str = "200") -> dict:
    return {status: {"description": description, "content": _JSON_OBJECT}}


def _path_params(*names: str) -> list[dict]:
    return [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names]


_LIMIT = {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}}


def _json_body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_EXPECTED_VERSION = {
    "description": "'any' (default), 'no_stream', 'exists', or the version the stream must be at (0 = no stream).",
    "oneOf": [{"type": "string", "enum": ["any", "no_stream", "exists"]}, {"type": "integer", "minimum": 0}],
}
_REPLAY = {
    "type": "object",
    "required": ["start", "end"],
    "properties": {
        "name": {"type": "string", "pattern": replay.REPLAY_NAME.pattern},
        "description": {"type": "string"},
        "bus": {"type": "string", "default": "default"},
        "archive": {"type": "string", "description": "Take the events from this archive (and its bus)."},
        "start": {"type": "string", "format": "date-time", "description": "Event time, inclusive."},
        "end": {"type": "string", "format": "date-time", "description": "Event time, exclusive."},
        "event_pattern": {"description": "Only events matching this EventBridge pattern (string or object)."},
        "rule_ids": {"type": "array", "items": {"type": "integer"}, "description": "Only these rules..."},
        "target_ids": {"type": "array", "items": {"type": "integer"}, "description": "...or these targets."},
        "rate_per_second": {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": replay.MAX_RATE},
        "position_ceiling": {"type": "integer", "description": "From the preview: send exactly what it counted."},
    },
}
_ORDER_COMMAND = {"type": "object", "properties": {"expected_version": _EXPECTED_VERSION, "reason": {"type": "string"}}}
_STREAM_PATHS = {
    "/streams/$all": {
        "get": {
            "operationId": "readAll",
            "summary": "The global log in position order after `after`; never past the safe high-water mark.",
            "parameters": [
                {"name": "after", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                _LIMIT,
                {"name": "bus", "in": "query", "schema": {"type": "string"}},
                {"name": "detail-type", "in": "query", "schema": {"type": "string"}},
                {"name": "aggregate-type", "in": "query", "schema": {"type": "string"}},
                {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
            ],
            "responses": {**_ok("Events and `next_after`, the position to resume from."), **_errors(400, 401, 403)},
        }
    },
    "/streams/{aggregate_type}/{aggregate_id}": {
        "get": {
            "operationId": "readStream",
            "summary": "A stream's events in version order from `from_version`.",
            "parameters": _path_params("aggregate_type", "aggregate_id")
            + [
                {"name": "from_version", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                _LIMIT,
            ],
            "responses": {**_ok("The stream's version and events."), **_errors(400, 401, 403, 404)},
        }
    },
    "/streams/{aggregate_type}/{aggregate_id}/events": {
        "post": {
            "operationId": "appendToStream",
            "summary": f"Append 1-{MAX_APPEND_EVENTS} events atomically if the stream is at the expected version.",
            "parameters": _path_params("aggregate_type", "aggregate_id"),
            "requestBody": _json_body(
                {
                    "type": "object",
                    "required": ["events"],
                    "properties": {
                        "expected_version": _EXPECTED_VERSION,
                        "events": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": MAX_APPEND_EVENTS,
                            "items": {"$ref": "#/components/schemas/Entry"},
                            "description": "Entries as for /events; `source` defaults to the aggregate type.",
                        },
                    },
                }
            ),
            "responses": {
                **_ok("Appended: first and last version, each event's id, version and position."),
                "409": {
                    "description": "WrongExpectedVersion (with `current_version`) or DuplicateEventId; nothing stored.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
                **_errors(400, 401, 403, 413, 415),
            },
        }
    },
    "/projections": {
        "get": {
            "operationId": "listProjections",
            "summary": "Every projection: position, lag (events, seconds), error, rebuild progress.",
            "responses": {**_ok("The projections."), **_errors(401, 403)},
        }
    },
    "/projections/{name}": {
        "get": {
            "operationId": "getProjection",
            "parameters": _path_params("name"),
            "responses": {**_ok("The projection."), **_errors(401, 403, 404)},
        }
    },
    "/projections/{name}/{action}": {
        "post": {
            "operationId": "projectionAction",
            "summary": "rebuild (blue/green, by the worker), cancel-rebuild, retry, or skip the failing event.",
            "parameters": [
                *_path_params("name"),
                {
                    "name": "action",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "enum": ["rebuild", "cancel-rebuild", "retry", "skip"]},
                },
            ],
            "responses": {
                **_ok("Done."),
                **_ok("Rebuild requested.", "202"),
                **_errors(401, 403, 404, 409),
            },
        }
    },
    "/replays": {
        "get": {
            "operationId": "listReplays",
            "responses": {**_ok("Replays, newest first, with state and progress."), **_errors(400, 401, 403)},
        },
        "post": {
            "operationId": "startReplay",
            "summary": "Start a replay (state `starting`); preview it first to confirm the count.",
            "requestBody": _json_body(_REPLAY),
            "responses": {**_ok("The replay.", "201"), **_errors(400, 401, 403, 415)},
        },
    },
    "/replays/preview": {
        "post": {
            "operationId": "previewReplay",
            "summary": "How many events and deliveries a replay would send, and its `position_ceiling`.",
            "requestBody": _json_body(_REPLAY),
            "responses": {**_ok("The counts."), **_errors(400, 401, 403, 415)},
        }
    },
    "/replays/{name}": {
        "get": {
            "operationId": "getReplay",
            "parameters": _path_params("name"),
            "responses": {**_ok("The replay."), **_errors(401, 403, 404)},
        }
    },
    "/replays/{name}/cancel": {
        "post": {
            "operationId": "cancelReplay",
            "parameters": _path_params("name"),
            "responses": {**_ok("Cancelled."), **_errors(401, 403, 404, 409)},
        }
    },
    "/shop/orders": {
        "get": {
            "operationId": "listOrders",
            "summary": "The demo shop's `order_views` read model, newest first.",
            "parameters": [
                {"name": "status", "in": "query", "schema": {"type": "string"}},
                _LIMIT,
            ],
            "responses": {**_ok("Orders and the projection's position."), **_errors(400, 401, 403)},
        },
        "post": {
            "operationId": "createOrder",
            "summary": "The CreateOrder command: a new Order stream with its OrderCreated event.",
            "requestBody": _json_body(
                {
                    "type": "object",
                    "required": ["customer", "items"],
                    "properties": {
                        "order_id": {"type": "string"},
                        "customer": {"type": "string"},
                        "items": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["sku", "quantity", "price"],
                                "properties": {
                                    "sku": {"type": "string"},
                                    "quantity": {"type": "integer", "minimum": 1},
                                    "price": {"type": "number", "minimum": 0},
                                },
                            },
                        },
                    },
                }
            ),
            "responses": {**_ok("Created: order id, version, position.", "201"), **_errors(400, 401, 403, 409, 415)},
        },
    },
    "/shop/orders/{order_id}": {
        "get": {
            "operationId": "getOrder",
            "parameters": _path_params("order_id"),
            "responses": {**_ok("The order view."), **_errors(401, 403, 404)},
        }
    },
    "/shop/orders/{order_id}/ship": {
        "post": {
            "operationId": "shipOrder",
            "parameters": _path_params("order_id"),
            "requestBody": _json_body(_ORDER_COMMAND),
            "responses": {**_ok("Shipped."), **_errors(400, 401, 403, 404, 409, 415)},
        }
    },
    "/shop/orders/{order_id}/cancel": {
        "post": {
            "operationId": "cancelOrder",
            "parameters": _path_params("order_id"),
            "requestBody": _json_body(_ORDER_COMMAND),
            "responses": {**_ok("Cancelled."), **_errors(400, 401, 403, 404, 409, 415)},
        }
    },
}


_STATUS_CODE = {"type": "integer", "minimum": deadletters.STATUS_CODES[0], "maximum": deadletters.STATUS_CODES[1]}
_DEAD_LETTER_FILTER = {
    "type": "object",
    "description": "Every field optional, combined with AND; {} selects every dead letter.",
    "properties": {
        "rule_id": {"type": "integer", "minimum": 1},
        "target_id": {"type": "integer", "minimum": 1},
        "error": {"type": "string", "description": "Substring of the last error or the dead reason."},
        "status_code": _STATUS_CODE,
        "since": {"type": "string", "format": "date-time", "description": "Dead-lettered at or after."},
        "until": {"type": "string", "format": "date-time", "description": "Dead-lettered before."},
    },
    "additionalProperties": False,
}
_DEAD_LETTER_IDS = {
    "type": "array",
    "minItems": 1,
    "maxItems": deadletters.MAX_IDS,
    "items": {"type": "string", "format": "uuid"},
}
_REDRIVE_RATE = {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": deadletters.MAX_RATE}


def _dead_letter_selection(**extra: dict) -> dict:
    """`{"ids": [...]}` or `{"filter": {...}}`, plus any extra properties (the redrive's rate)."""
    return {
        "oneOf": [
            {
                "type": "object",
                "required": ["ids"],
                "properties": {"ids": _DEAD_LETTER_IDS, **extra},
                "not": {"required": ["filter"]},
            },
            {
                "type": "object",
                "required": ["filter"],
                "properties": {"filter": _DEAD_LETTER_FILTER, **extra},
                "not": {"required": ["ids"]},
            },
        ]
    }


_DEAD_LETTER_QUERY = [
    {"name": "rule_id", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    {"name": "target_id", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    {"name": "error", "in": "query", "schema": {"type": "string"}},
    {"name": "status_code", "in": "query", "schema": _STATUS_CODE},
    {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
    {"name": "until", "in": "query", "schema": {"type": "string", "format": "date-time"}},
    {"name": "cursor", "in": "query", "schema": {"type": "string", "format": "uuid"}},
    _LIMIT,
]
_DEAD_LETTER_PATHS = {
    "/dead-letters": {
        "get": {
            "operationId": "listDeadLetters",
            "summary": "Dead-lettered deliveries (scope admin), newest first, with cursor pagination.",
            "parameters": _DEAD_LETTER_QUERY,
            "responses": {
                **_ok("A page of dead letters and `next_cursor` (null at the end)."),
                **_errors(400, 401, 403),
            },
        }
    },
    "/dead-letters/{delivery_id}": {
        "get": {
            "operationId": "getDeadLetter",
            "summary": "One dead letter with its attempt history.",
            "parameters": _path_params("delivery_id"),
            "responses": {**_ok("The dead letter and its attempts."), **_errors(401, 403, 404)},
        }
    },
    "/dead-letters/redrive": {
        "post": {
            "operationId": "redriveDeadLetters",
            "summary": "Send the selected dead letters again (idempotent; `rate` caps deliveries per second).",
            "requestBody": _json_body(_dead_letter_selection(rate=_REDRIVE_RATE)),
            "responses": {**_ok("Counts: `redriven` and `skipped`."), **_errors(400, 401, 403, 405, 415)},
        }
    },
    "/dead-letters/dry-run": {
        "post": {
            "operationId": "dryRunRedrive",
            "summary": "Predict a redrive's outcome per dead letter, without changing anything.",
            "requestBody": _json_body(_dead_letter_selection()),
            "responses": {
                **_ok(
                    "`buckets`: will_be_delivered, rule_no_longer_matches, target_deleted_or_disabled, "
                    "target_still_failing; and `total`."
                ),
                **_errors(400, 401, 403, 405, 415),
            },
        }
    },
    "/dead-letters/purge": {
        "post": {
            "operationId": "purgeDeadLetters",
            "summary": "Delete the selected dead letters and their attempt history.",
            "requestBody": _json_body(_dead_letter_selection()),
            "responses": {**_ok("`purged`: how many were deleted."), **_errors(400, 401, 403, 405, 415)},
        }
    },
}


def document() -> dict:
    """The document for the running settings (the batch size is one)."""
    batch = settings.EVENTHUB["MAX_BATCH_ENTRIES"]
    entries = {"type": "array", "minItems": 1, "maxItems": batch, "items": {"$ref": "#/components/schemas/Entry"}}
    return {
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
            "/cloudevents": {
                "post": {
                    "operationId": "publishCloudEvents",
                    "summary": f"Publish CloudEvents 1.0: structured, batched (up to {batch}), or binary mode "
                    "(ce-* headers).",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/cloudevents+json": {"schema": _CLOUDEVENT},
                            "application/cloudevents-batch+json": {
                                "schema": {"type": "array", "minItems": 1, "maxItems": batch, "items": _CLOUDEVENT}
                            },
                        },
                    },
                    "parameters": [{"name": "bus", "in": "query", "required": False, "schema": {"type": "string"}}],
                    "responses": {
                        "200": {
                            "description": "At least one event accepted; one result per event, in request order.",
                            "content": _JSON_OBJECT,
                        },
                        "400": {"description": "Bad request, or every event was refused."},
                        **_errors(401, 403, 405, 413, 415),
                    },
                }
            },
            "/events": {
                "post": {
                    "operationId": "publishEvents",
                    "summary": f"Publish one event or a batch of up to {batch} (like PutEvents).",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "oneOf": [
                                        {"$ref": "#/components/schemas/Entry"},
                                        entries,
                                        {
                                            "type": "object",
                                            "required": ["entries"],
                                            "properties": {"entries": entries},
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
                        _LIMIT,
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
                    "requestBody": _json_body(
                        {
                            "type": "object",
                            "required": ["pattern", "event"],
                            "properties": {"pattern": {}, "event": {"type": "object"}},
                        }
                    ),
                    "responses": {
                        "200": {"description": "The verdict and the explainer's trace."},
                        **_errors(400, 401, 403, 415),
                    },
                }
            },
            **_STREAM_PATHS,
            **_DEAD_LETTER_PATHS,
            **_SCHEMA_PATHS,
            **_CONFIGURATION_PATHS,
        },
    }


def openapi_json(request: HttpRequest) -> HttpResponse:
    return json_response(document())
