"""The EventBridge event-pattern language, AWS-exact, in pure Python (nothing here imports Django).

    pattern = compile_pattern('{"source": ["aws.ec2"], "detail": {"state": [{"prefix": "stop"}]}}')
    pattern.matches(event)             # -> bool
    explain(pattern, event).to_dict()  # field-by-field trace, JSON-serialisable
    rules = RuleSet(); rules.add("r1", pattern); rules.matching(event)  # -> {"r1"}
    evaluate_pattern(text, event)      # for a request: explain() within a time budget (see evaluation.py)

Patterns are validated and compiled once (``InvalidPattern`` says where and why, in AWS's words);
matching never re-parses. Behaviour is checked against AWS-validated cases, see
tests/patterns/test_pattern_conformance.py.
"""

from .budget import Budget
from .errors import InvalidPattern, PatternTooComplex
from .evaluation import InvalidEvent, evaluate_pattern
from .explain import BranchTrace, Explanation, FieldTrace, explain
from .match import Pattern
from .parse import MAX_PATTERN_LENGTH, compile_pattern
from .ruleset import RuleSet

__all__ = [
    "MAX_PATTERN_LENGTH",
    "BranchTrace",
    "Budget",
    "Explanation",
    "FieldTrace",
    "InvalidEvent",
    "InvalidPattern",
    "Pattern",
    "PatternTooComplex",
    "RuleSet",
    "compile_pattern",
    "evaluate_pattern",
    "explain",
    "matches",
]


def matches(pattern: str | dict | Pattern, event: dict) -> bool:
    """Whether ``event`` matches ``pattern``; compile the pattern once yourself when you reuse it."""
    compiled = pattern if isinstance(pattern, Pattern) else compile_pattern(pattern)
    return compiled.matches(event)
