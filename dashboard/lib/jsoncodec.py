"""JSON encoding for stored events, fast by default and total.

orjson refuses integers beyond 64 bits. Those exist in stored events: PostgreSQL's jsonb keeps `1e20`
as the number 100000000000000000000, which reads back as a Python int. The standard library encodes
them, so it is the fallback.
"""

import json

import orjson


def dumps(value: object) -> bytes:
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
