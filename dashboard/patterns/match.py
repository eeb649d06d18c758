"""The compiled pattern and how it decides a match.

A pattern compiles to one or more branches (``$or`` multiplies them out, as AWS does); the pattern
matches when any branch does. A branch is a set of conditions, one per field path, all required.
Each condition is precompiled into a closure over the event's flattened values, so matching is a few
dict lookups and set or string operations per condition.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .budget import Budget
from .consistency import consistently_satisfied
from .flatten import FlatEvent, flatten_event
from .operators import Operator, accepts_any

__all__ = ["Branch", "Condition", "Pattern", "ValuesCheck", "all_hold"]

ValuesCheck = Callable[[dict[str, list]], bool]


def _condition_check(path: str, test: Callable[[object], bool] | None, allow_absent: bool) -> ValuesCheck:
    """A closure deciding the condition from flattened values (no array consistency to worry about)."""
    if test is None:
        return lambda values: path not in values
    if test is accepts_any:
        return (lambda values: True) if allow_absent else (lambda values: path in values)
    if allow_absent:

        def absent_or_accepted(values: dict[str, list]) -> bool:
            found = values.get(path)
            return found is None or any(map(test, found))

        return absent_or_accepted

    def accepted(values: dict[str, list]) -> bool:
        found = values.get(path)
        if found is None:
            return False
        if len(found) == 1:  # most fields hold one value; skip building an iterator for it
            return test(found[0])
        return any(map(test, found))

    return accepted


def all_hold(checks: Iterable[ValuesCheck]) -> ValuesCheck:
    """One closure requiring every check, unrolled for the usual one or two conditions."""
    checks = tuple(checks)
    if not checks:
        return lambda values: True
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda values: first(values) and second(values)

    return lambda values: all(check(values) for check in checks)


@dataclass(frozen=True, slots=True)
class Condition:
    """What one field path must hold: a value some alternative accepts, or (``allow_absent``) nothing."""

    path: str
    operators: tuple[Operator, ...]
    expected: str  # the field's alternatives as JSON text, for explanations
    test: Callable[[object], bool] | None = field(compare=False, repr=False)
    allow_absent: bool = False
    check: ValuesCheck = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "check", _condition_check(self.path, self.test, self.allow_absent))

    def holds_for(self, values: list | None) -> bool:
        """Whether this condition holds given the values at its path (None when there are none)."""
        return self.check({} if values is None else {self.path: values})


@dataclass(frozen=True, slots=True)
class Branch:
    """Conditions that must all hold, kept in path order: AWS checks absence in that order."""

    conditions: tuple[Condition, ...]
    label: str = ""  # which $or alternatives this branch stands for, e.g. "$or[1] & detail.$or[0]"
    _all_hold: ValuesCheck = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_all_hold", all_hold(c.check for c in self.conditions))

    def satisfied_by(self, event: FlatEvent, budget: Budget | None = None) -> bool:
        """Whether every condition holds, from one element of each array when the event has objects in arrays.

        Without a budget, array consistency gets a default one (plain matching is linear and needs none);
        with one, the values this branch looks at are charged to it as well. Raises PatternTooComplex.
        """
        if event.entries is not None and len(self.conditions) > 1:
            return consistently_satisfied(self.conditions, event, Budget() if budget is None else budget)
        if budget is not None:
            values = event.values
            budget.spend(sum(len(values.get(condition.path, ())) for condition in self.conditions) + 1)
        return self._all_hold(event.values)


@dataclass(frozen=True, slots=True)
class Pattern:
    """A validated, compiled event pattern. Build it with ``compile_pattern``; it never re-parses."""

    source: str  # the pattern text that was compiled
    branches: tuple[Branch, ...]
    paths: frozenset[str]  # every field path the pattern tests
    wanted: frozenset[str] = field(compare=False, repr=False)  # those paths and their dotted prefixes

    def matches(self, event: dict, budget: Budget | None = None) -> bool:
        """Whether the event (a dict, as EventBridge envelopes are) matches this pattern.

        Raises PatternTooComplex when deciding it would exceed ``budget`` (by default, array consistency
        gets a generous step budget per branch: see budget.py).
        """
        return self.matches_flat(flatten_event(event, self.wanted), budget)

    def matches_flat(self, event: FlatEvent, budget: Budget | None = None) -> bool:
        """Match an event already flattened over (at least) this pattern's ``wanted`` paths."""
        return any(branch.satisfied_by(event, budget) for branch in self.branches)
