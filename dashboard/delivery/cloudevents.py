"""Webhook bodies in CloudEvents 1.0 for targets whose `payload_format` asks for it (structured or binary
mode of the HTTP binding), built with the CloudEvents SDK. Standard Webhooks signing applies unchanged:
the worker signs whatever body this returns.

The event's envelope maps back as the ingest API maps it in (dashboard/api/native/cloudevents.py): source, type
from detail-type, time, the kept attributes (subject, extensions, ...) and the trace context. The id is the
producer's own CloudEvents id when the event came in as one, else the event id. The data is the detail,
or the target's transformed input when it has an input path or transformer.
"""

import orjson
from cloudevents.core.bindings.http import to_binary, to_structured
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from dashboard.models import Event

EVENTBRIDGE = "eventbridge"
STRUCTURED = "cloudevents-structured"
BINARY = "cloudevents-binary"
_FORMAT = JSONFormat()


def cloudevent_of(event: Event, data: object) -> CloudEvent:
    attributes = {
        **{name: value for name, value in event.attributes.items() if name != "id"},
        "specversion": "1.0",
        "id": event.attributes.get("id") or event.event_id,
        "source": event.source,
        "type": event.detail_type,
        "time": event.time,
    }
    if event.traceparent:
        attributes["traceparent"] = event.traceparent
        if event.tracestate:
            attributes["tracestate"] = event.tracestate
    if isinstance(data, str):
        attributes["datacontenttype"] = "text/plain; charset=utf-8"
    elif not isinstance(data, dict):  # a transformed input that is a JSON array or scalar: its JSON text
        data = orjson.dumps(data).decode()
        attributes["datacontenttype"] = "application/json"
    else:
        attributes.setdefault("datacontenttype", "application/json")
    return CloudEvent(attributes, data)


def delivery_request(event: Event, payload_format: str, data: object) -> tuple[dict[str, str], bytes]:
    """(headers, body) of a delivery in CloudEvents `payload_format` (STRUCTURED or BINARY); the headers
    include Content-Type."""
    cloudevent = cloudevent_of(event, data)
    message = to_binary(cloudevent, _FORMAT) if payload_format == BINARY else to_structured(cloudevent, _FORMAT)
    headers = {
        ("Content-Type" if name.lower() == "content-type" else name): value for name, value in message.headers.items()
    }
    return headers, message.body
