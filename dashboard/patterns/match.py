"""The compiled pattern and how it decides a match.

A pattern compiles to one or more branches (``$or`` multiplies them out, as AWS does); the pattern
matches when any branch does. A branch is a set of conditions, one per field path, all required.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from .flatten import FlatEvent, Membership, flatten_event
from .operators import Operator

__all__ = ["Branch", "Condition", "Pattern"]


@dataclass(frozen=True, slots=True)
class Condition:
    """What one field path must hold: a value some alternative accepts, or (``allow_absent``) nothing."""

    path: str
    operators: tuple[Operator, ...]
    expected: str  # the field's alternatives as JSON text, for explanations
    test: Callable[[object], bool] | None = field(compare=False, repr=False)
    allow_absent: bool = False

    def holds_for(self, values: list | None) -> bool:
        """Whether this condition holds given the values at its path (None when there are none)."""
        if values is None:
            return self.allow_absent
        test = self.test
        return test is not None and any(test(value) for value in values)


def _consistent(chosen: dict[int, int], membership: Membership) -> bool:
    return all(chosen.get(array, index) == index for array, index in membership)


@dataclass(frozen=True, slots=True)
class Branch:
    """Conditions that must all hold, kept in path order: AWS checks absence in that order."""

    conditions: tuple[Condition, ...]
    label: str = ""  # which $or alternatives this branch stands for, e.g. "$or[1] & detail.$or[0]"
    _steps: tuple = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        steps = tuple((c.path, c.test, c.allow_absent) for c in self.conditions)
        object.__setattr__(self, "_steps", steps)

    def satisfied_by(self, event: FlatEvent) -> bool:
        if event.entries is not None and len(self._steps) > 1:
            return self._consistently_satisfied(event.entries, 0, {})
        values = event.values
        for path, test, allow_absent in self._steps:
            found = values.get(path)
            if found is None:
                if not allow_absent:
                    return False
            elif test is None:
                return False
            else:
                for value in found:
                    if test(value):
                        break
                else:
                    return False
        return True

    def _consistently_satisfied(self, entries: dict, position: int, chosen: dict[int, int]) -> bool:
        """Pick one leaf per condition such that no two come from different elements of one array.

        Like AWS, a condition allowing absence is satisfied when no leaf at its path is consistent with
        the leaves picked for the conditions before it.
        """
        if position == len(self._steps):
            return True
        path, test, allow_absent = self._steps[position]
        found = entries.get(path, ())
        if (
            allow_absent
            and not any(_consistent(chosen, membership) for _, membership in found)
            and self._consistently_satisfied(entries, position + 1, chosen)
        ):
            return True
        if test is None:
            return False
        for value, membership in found:
            if test(value) and _consistent(chosen, membership):
                extended = {**chosen, **dict(membership)}
                if self._consistently_satisfied(entries, position + 1, extended):
                    return True
        return False


@dataclass(frozen=True, slots=True)
class Pattern:
    """A validated, compiled event pattern. Build it with ``compile_pattern``; it never re-parses."""

    source: str  # the pattern text that was compiled
    branches: tuple[Branch, ...]
    paths: frozenset[str]  # every field path the pattern tests
    wanted: frozenset[str] = field(compare=False, repr=False)  # those paths and their dotted prefixes

    def matches(self, event: dict) -> bool:
        """Whether the event (a dict, as EventBridge envelopes are) matches this pattern."""
        return self.matches_flat(flatten_event(event, self.wanted))

    def matches_flat(self, event: FlatEvent) -> bool:
        """Match an event already flattened over (at least) this pattern's ``wanted`` paths."""
        return any(branch.satisfied_by(event) for branch in self.branches)
