"""How much work one evaluation of a pattern against an event may do before it gives up.

Most matching is linear in the event and the pattern. Array consistency is not in the worst case (with
several arrays at one path it is a combinatorial search), so the search spends steps from a ``Budget``
and raises ``PatternTooComplex`` when they run out, or when an optional deadline passes.
"""

import time

from .errors import PatternTooComplex

__all__ = ["DEFAULT_STEPS", "Budget"]

# Roughly a second of the slowest steps on one core: far above what any realistic event needs (a step is
# one array element tried for one condition), low enough that no event can stall a caller for long.
DEFAULT_STEPS = 1_000_000

# Reading the clock costs more than a step, so a deadline is checked once per this many steps.
_CLOCK_EVERY = 2048


class Budget:
    """Steps left, and optionally a wall-clock deadline, shared by everything one evaluation does."""

    __slots__ = ("_deadline", "_left", "_until_clock")

    def __init__(self, steps: int = DEFAULT_STEPS, seconds: float | None = None) -> None:
        self._left = steps
        self._deadline = None if seconds is None else time.monotonic() + seconds
        self._until_clock = _CLOCK_EVERY

    def spend(self, steps: int = 1) -> None:
        """Account for ``steps`` units of work; raises PatternTooComplex once the budget is exhausted."""
        self._left -= steps
        if self._left < 0:
            raise PatternTooComplex("Matching this event against the pattern needs too much work")
        if self._deadline is not None:
            self._until_clock -= steps
            if self._until_clock <= 0:
                self._until_clock = _CLOCK_EVERY
                if time.monotonic() > self._deadline:
                    raise PatternTooComplex("Matching this event against the pattern took too long")
