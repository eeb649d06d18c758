"""Evaluate a pattern against one event on behalf of a request: bounded in depth, steps and time.

The pattern tester API, AWS ``TestEventPattern`` and the dashboard playground all call
``evaluate_pattern``. It is synchronous and CPU-bound: async callers run it in a worker thread
(``asyncio.to_thread``), never on the event loop. A thread cannot be interrupted, so the budget is
cooperative: the engine checks it as it works and raises ``PatternTooComplex`` once it is spent.
"""

import json

from .budget import Budget
from .errors import InvalidPattern
from .explain import Explanation, explain
from .parse import compile_pattern

__all__ = ["MAX_NESTING", "REQUEST_SECONDS", "InvalidEvent", "evaluate_pattern"]

# How long one request's evaluation may take before it is answered as too complex.
REQUEST_SECONDS = 1.0

# As for published entries: deeper JSON is refused before anything walks it recursively.
MAX_NESTING = 253


class InvalidEvent(ValueError):
    """The event to test is not one the engine will evaluate (not an object, or nested too deeply)."""


def _nesting_exceeds(value: object, limit: int) -> bool:
    """Whether ``value`` nests deeper than ``limit`` levels, found level by level without recursion."""
    level = [value] if isinstance(value, dict | list) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        children: list[object] = []
        for node in level:
            children.extend(node.values() if isinstance(node, dict) else node)
        level = [child for child in children if isinstance(child, dict | list)]
    return False


def evaluate_pattern(pattern: str | dict, event: object, *, seconds: float = REQUEST_SECONDS) -> Explanation:
    """Compile ``pattern`` and explain it against ``event`` within ``seconds``.

    Raises InvalidPattern (the pattern is invalid or nested too deeply), InvalidEvent, or
    PatternTooComplex (the evaluation needed more than its budget).
    """
    if not isinstance(event, dict):
        raise InvalidEvent("The event must be a JSON object.")
    if _nesting_exceeds(event, MAX_NESTING):
        raise InvalidEvent(f"The event nests deeper than {MAX_NESTING} levels.")
    if not isinstance(pattern, str):
        if _nesting_exceeds(pattern, MAX_NESTING):
            raise InvalidPattern("", f"Event pattern nests deeper than {MAX_NESTING} levels")
        # Compact, as the request sent it: the pattern length limit counts these characters.
        pattern = json.dumps(pattern, separators=(",", ":"), ensure_ascii=False)
    budget = Budget(seconds=seconds)
    return explain(compile_pattern(pattern), event, budget)
