"""The order in which Java's HashSet and HashMap iterate string keys.

Confluent's checker walks properties and dependencies through Java hash sets, so its change lists come out
in hash order, not document order. Reproducing that order makes our change lists equal to its lists, which
is how the shared conformance corpus compares them. Iteration goes bucket by bucket (the spread string hash
masked by the table size), keys sharing a bucket in insertion order; the table doubles whenever it is more
than three-quarters full.
"""

from collections.abc import Iterable
from functools import lru_cache

_DEFAULT_CAPACITY = 16


@lru_cache(maxsize=4096)
def java_string_hash(text: str) -> int:
    value = 0
    encoded = text.encode("utf-16-le")
    for index in range(0, len(encoded), 2):
        value = (31 * value + int.from_bytes(encoded[index : index + 2], "little")) & 0xFFFFFFFF
    return value


def _bucket(key: str, capacity: int) -> int:
    value = java_string_hash(key)
    return (value ^ (value >> 16)) & (capacity - 1)


def _grown(capacity: int, size: int) -> int:
    while size > capacity * 3 // 4:
        capacity *= 2
    return capacity


def _ordered(keys: list[str], capacity: int) -> list[str]:
    position = {key: index for index, key in enumerate(keys)}
    return sorted(keys, key=lambda key: (_bucket(key, capacity), position[key]))


def hash_map_order(keys: Iterable[str]) -> list[str]:
    """Iteration order of a ``new HashMap<>()`` filled with ``keys`` in this order."""
    return list(_hash_map_order(tuple(keys)))


def hash_set_union_order(first: Iterable[str], then: Iterable[str]) -> list[str]:
    """Iteration order of ``new HashSet<>(first)`` after ``addAll(then)``."""
    return list(_hash_set_union_order(tuple(first), tuple(then)))


# Cached: a check compares the same property sets many times (every branch pair of a oneOf, say).
@lru_cache(maxsize=1024)
def _hash_map_order(keys: tuple[str, ...]) -> tuple[str, ...]:
    inserted = list(dict.fromkeys(keys))
    return tuple(_ordered(inserted, _grown(_DEFAULT_CAPACITY, len(inserted))))


@lru_cache(maxsize=1024)
def _hash_set_union_order(first: tuple[str, ...], then: tuple[str, ...]) -> tuple[str, ...]:
    initial = list(dict.fromkeys(first))
    capacity = 1
    while capacity < max(int(len(initial) / 0.75) + 1, _DEFAULT_CAPACITY):
        capacity *= 2
    inserted = list(dict.fromkeys([*initial, *then]))
    return tuple(_ordered(inserted, _grown(capacity, len(inserted))))
