"""The registry's compatibility modes, built from the one backward check.

BACKWARD: the new schema reads what the previous version wrote. FORWARD: the previous version reads what
the new schema writes (the same check, arguments swapped). FULL: both. The ``_TRANSITIVE`` forms hold the
new schema against every earlier version instead of only the latest; NONE checks nothing.
"""

from collections.abc import Sequence
from typing import Any

from .changes import RULES, Change
from .compatibility import check_compatibility

MODES = (
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
    "NONE",
)


def incompatibilities(new: Any, earlier: Sequence[Any], mode: str, rules: str = "strict") -> list[str]:
    """Why ``new`` may not follow ``earlier`` (oldest first) under ``mode``: empty when it may.

    Each entry is a change that breaks the mode, prefixed with the direction and version it breaks against
    ("backward v2: TYPE_CHANGED #/properties/age"), so a refusal says exactly what to fix.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    if mode == "NONE" or not earlier:
        return []
    numbered = list(enumerate(earlier, start=1))
    against = numbered if mode.endswith("_TRANSITIVE") else numbered[-1:]
    directions = {"BACKWARD": ("backward",), "FORWARD": ("forward",), "FULL": ("backward", "forward")}
    problems: list[str] = []
    for version, schema in against:
        for direction in directions[mode.removesuffix("_TRANSITIVE")]:
            original, update = (schema, new) if direction == "backward" else (new, schema)
            result = check_compatibility(original, update, rules)
            if not result.compatible:
                problems.extend(f"{direction} v{version}: {change}" for change in _breaking(result.changes, rules))
    return problems


def _breaking(changes: Sequence[Change], rules: str) -> list[Change]:
    return [change for change in changes if change.name not in RULES[rules]]
