"""What a rule form shows about a pattern before it is saved: is it valid (and where not), does it match a
pasted event (with the explainer's trace), and how many recent stored events it would match compared with
the saved pattern. The answer is the JSON that `static/dashboard/admin-rule-form.js` renders."""

import json

from dashboard.delivery.planning import backtest_pattern
from dashboard.patterns import InvalidPattern, compile_pattern, explain

# The backtest: how many of this many newest stored events of the bus the pattern matches.
BACKTEST_EVENTS = 1000


def preview_pattern(
    pattern: str, *, event_text: str = "", bus: str = "default", saved_pattern: str | None = None
) -> dict:
    try:
        compiled = compile_pattern(pattern)
    except InvalidPattern as error:
        return {"valid": False, "error": str(error), "path": error.path}
    answer: dict = {"valid": True, "error": None}
    if event_text.strip():
        answer["test"] = _test(compiled, event_text)
    if saved_pattern is not None and not _is_valid(saved_pattern):
        saved_pattern = None  # a pattern stored before today's checks: compare with nothing rather than fail
    result = backtest_pattern(pattern, bus=bus or "default", saved_pattern=saved_pattern, sample=BACKTEST_EVENTS)
    answer["backtest"] = {"sample": result.sample, "new": result.new_matches, "old": result.old_matches}
    return answer


def _test(compiled, event_text: str) -> dict:
    try:
        event = json.loads(event_text)
    except json.JSONDecodeError as error:
        return {"error": f"The event is not valid JSON: {error}"}
    if not isinstance(event, dict):
        return {"error": "The event must be a JSON object."}
    explanation = explain(compiled, event)
    return {"matched": explanation.matched, "explanation": explanation.to_dict()}


def _is_valid(pattern: str) -> bool:
    try:
        compile_pattern(pattern)
    except InvalidPattern:
        return False
    return True
