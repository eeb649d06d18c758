"""Turn an event into the leaf values each dotted path holds, once per event.

AWS joins keys with "." (so ``{"a": {"b": 1}}`` and ``{"a.b": 1}`` both hold 1 at "a.b"), looks
through arrays (each element is a value at the array's path), and only counts leaves: an object, or
an empty array, is not a value. ``null`` is a value.

When objects sit inside arrays AWS also requires the leaves one rule uses to come from the same array
element ("array consistency"), so for such events we also record, per leaf, which element of which
array it came from. Events without objects in arrays (the common case) skip that work.

That record is a chain shared by everything inside one element: ``(array, index, parent chain)``, None
outside every array. Building it costs one tuple per element, whatever the nesting depth (a tuple of
all enclosing (array, index) pairs per leaf would cost leaves x depth).
"""

from dataclasses import dataclass

__all__ = ["FlatEvent", "Membership", "flatten_event", "steps"]

# For a leaf inside arrays: (array number, element index, the enclosing element's chain); None outside.
Membership = tuple[int, int, "Membership"] | None


@dataclass(slots=True)
class FlatEvent:
    """Leaf values by path; ``entries`` (values with their array membership) only when it matters.

    ``plans`` caches, per condition, what array consistency needs from this event (see consistency.py),
    so conditions shared by several branches or rules are prepared once per event.
    """

    values: dict[str, list]
    entries: dict[str, list[tuple[object, Membership]]] | None = None
    plans: dict | None = None


def flatten_event(event: dict, wanted: frozenset[str] | None = None) -> FlatEvent:
    """Flatten ``event``, visiting only paths in ``wanted`` (every path and path prefix a matcher uses)."""
    if not isinstance(event, dict):
        raise TypeError(f"an event must be a JSON object (dict), not {type(event).__name__}")
    values: dict[str, list] = {}
    if _walk_object(event, "", wanted, values):
        entries: dict[str, list[tuple[object, Membership]]] = {}
        _walk_with_membership(event, None, wanted, entries, None, [0])
        return FlatEvent(values, entries)
    return FlatEvent(values)


def _walk_object(node: dict, prefix: str, wanted: frozenset[str] | None, values: dict[str, list]) -> bool:
    """Collect leaves under ``node`` (whose path plus "." is ``prefix``, "" at the top); True if some
    array on a wanted path holds an object."""
    objects_in_arrays = False
    for key, value in node.items():
        path = prefix + key
        if wanted is not None and path not in wanted:
            continue
        kind = type(value)
        if kind is dict:
            objects_in_arrays |= _walk_object(value, path + ".", wanted, values)
        elif kind is list:
            objects_in_arrays |= _walk_array(value, path, wanted, values)
        else:
            found = values.get(path)
            if found is None:
                values[path] = [value]
            else:
                found.append(value)
    return objects_in_arrays


def _walk_array(items: list, path: str, wanted: frozenset[str] | None, values: dict[str, list]) -> bool:
    objects_in_arrays = False
    for item in items:
        kind = type(item)
        if kind is dict:
            objects_in_arrays = True
            _walk_object(item, path + ".", wanted, values)
        elif kind is list:
            objects_in_arrays |= _walk_array(item, path, wanted, values)
        else:
            values.setdefault(path, []).append(item)
    return objects_in_arrays


def _walk_with_membership(
    node: object,
    path: str | None,  # None for the event itself
    wanted: frozenset[str] | None,
    entries: dict[str, list[tuple[object, Membership]]],
    membership: Membership,
    next_array: list[int],
) -> None:
    kind = type(node)
    if kind is dict:
        for key, value in node.items():
            child = key if path is None else f"{path}.{key}"
            if wanted is None or child in wanted:
                _walk_with_membership(value, child, wanted, entries, membership, next_array)
    elif kind is list:
        array = next_array[0]
        next_array[0] += 1
        for index, item in enumerate(node):
            _walk_with_membership(item, path, wanted, entries, (array, index, membership), next_array)
    else:
        entries.setdefault(path, []).append((node, membership))


def steps(membership: Membership) -> list[tuple[int, int]]:
    """The (array, index) pairs of a membership, outermost first (for explanations and tests)."""
    pairs = []
    while membership is not None:
        array, index, membership = membership
        pairs.append((array, index))
    return pairs[::-1]
