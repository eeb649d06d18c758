"""Why a pattern did or did not match an event, field by field, for the playground and the API.

The verdict is the matcher's own (each branch is decided by ``Branch.satisfied_by``); the per-field
rows are there to show the user which field failed and what the event held there.
"""

import json
from dataclasses import dataclass

from .budget import Budget
from .flatten import flatten_event
from .match import Pattern
from .parse import compile_pattern

__all__ = ["BranchTrace", "Explanation", "FieldTrace", "explain"]

_SPLIT_ACROSS_ARRAY = (
    "Every field matches on its own, but not within one element of an array: AWS requires the values a "
    "pattern uses to come from the same array element."
)


@dataclass(frozen=True, slots=True)
class FieldTrace:
    """One pattern field: what it asked for, what the event held at its path, and whether it held."""

    path: str
    operators: tuple[str, ...]  # e.g. ("exact", "prefix"), one per alternative listed in the pattern
    expected: str  # the alternatives as JSON text
    values: tuple  # the event's leaf values at the path; empty when the field is absent
    matched: bool

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "operators": list(self.operators),
            "expected": json.loads(self.expected),
            "values": list(self.values),
            "present": bool(self.values),
            "matched": self.matched,
        }


@dataclass(frozen=True, slots=True)
class BranchTrace:
    """One alternative of the pattern ($or multiplies them out); it matches when all its fields do."""

    label: str  # which $or alternatives it stands for ("" when the pattern has no $or)
    matched: bool
    fields: tuple[FieldTrace, ...]
    note: str | None = None

    def to_dict(self) -> dict:
        return {
            "label": self.label,
            "matched": self.matched,
            "note": self.note,
            "fields": [field.to_dict() for field in self.fields],
        }


@dataclass(frozen=True, slots=True)
class Explanation:
    """The verdict (the matcher's own) and a trace per branch of the pattern."""

    matched: bool
    branches: tuple[BranchTrace, ...]
    # Path of the first failing field; None on a match, or when every field matches on its own but not
    # within one array element (the branch's note says so).
    first_failure: str | None

    def to_dict(self) -> dict:
        """A JSON-serialisable form: the shape the HTTP API returns and the playground renders."""
        return {
            "matched": self.matched,
            "first_failure": self.first_failure,
            "branches": [branch.to_dict() for branch in self.branches],
        }


def explain(pattern: str | dict | Pattern, event: dict, budget: Budget | None = None) -> Explanation:
    """Trace ``pattern`` against ``event``. Raises InvalidPattern for an invalid pattern, and
    PatternTooComplex when ``budget`` runs out (see ``Pattern.matches``)."""
    compiled = pattern if isinstance(pattern, Pattern) else compile_pattern(pattern)
    flat = flatten_event(event, compiled.wanted)
    branches = []
    for branch in compiled.branches:
        if budget is not None:
            budget.spend(sum(len(flat.values.get(condition.path, ())) for condition in branch.conditions) + 1)
        fields = tuple(
            FieldTrace(
                path=condition.path,
                operators=tuple(operator.label for operator in condition.operators),
                expected=condition.expected,
                values=tuple(flat.values.get(condition.path, ())),
                matched=condition.holds_for(flat.values.get(condition.path)),
            )
            for condition in branch.conditions
        )
        matched = branch.satisfied_by(flat, budget)
        note = _SPLIT_ACROSS_ARRAY if not matched and all(field.matched for field in fields) else None
        branches.append(BranchTrace(branch.label, matched, fields, note))
    matched = any(branch.matched for branch in branches)
    first_failure = None
    if not matched:
        first_failure = next((f.path for b in branches for f in b.fields if not f.matched), None)
    return Explanation(matched, tuple(branches), first_failure)
