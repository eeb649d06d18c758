"""JSON for stored events, fast by default and total.

orjson refuses to write integers beyond 64 bits, and reads them as floats. Those exist in stored events:
PostgreSQL's jsonb keeps `1e20` as the number 100000000000000000000, which reads back as a Python int. The
standard library handles them, so it is the fallback both ways; writing, it is taught the types orjson
writes natively (times, UUIDs, enums), in orjson's form, so that the fallback never fails where orjson
would have succeeded.
"""

import json
import re
from datetime import date, time
from enum import Enum
from uuid import UUID

import orjson

# A number with this many digits may be beyond 64 bits.
_LONG_DIGIT_RUN = re.compile(r"\d{19}")


def dumps(value: object) -> bytes:
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_as_orjson_writes).encode()


def _as_orjson_writes(value: object) -> object:
    if isinstance(value, date | time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def loads(text: str) -> object:
    """`json.loads(text)`, from orjson where it reads the same: not for text with a long run of digits
    (an integer orjson would read as a float), nor what orjson refuses (NaN, Infinity, lone surrogates)."""
    if _LONG_DIGIT_RUN.search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)
