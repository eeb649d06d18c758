"""Time-ordered identifiers (UUIDv7, RFC 9562): sortable by creation time, unique without coordination."""

import os
import time
import uuid
from collections.abc import Iterable


def uuid7() -> uuid.UUID:
    """A UUIDv7: 48 bits of Unix milliseconds, the version, 12 random bits, the variant, 62 random bits."""
    millis = time.time_ns() // 1_000_000
    rand_a = int.from_bytes(os.urandom(2), "big") & 0x0FFF
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (millis & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return uuid.UUID(int=value)


def new_event_id() -> str:
    return str(uuid7())


def parse_uuid(value: object) -> uuid.UUID | None:
    """`value` as a UUID (one already, or text uuid.UUID reads), or None when it is not one."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def parse_uuids(values: Iterable[object]) -> list[uuid.UUID]:
    """The values that are UUIDs, parsed, without repeats and in order; the others are dropped."""
    return list(dict.fromkeys(u for u in map(parse_uuid, values) if u is not None))
