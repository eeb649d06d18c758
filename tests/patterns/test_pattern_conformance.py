"""The engine agrees with Amazon EventBridge on every case of the shared, AWS-validated corpus.

The corpus lives next to the repository (../shared/conformance/eventbridge_patterns.json, see its
README); set EVENTHUB_CONFORMANCE to read it from elsewhere. It is read at test time, never copied.
"""

import json
import os
from pathlib import Path

import pytest

from dashboard.patterns import InvalidPattern, compile_pattern, explain

CORPUS = Path(
    os.environ.get("EVENTHUB_CONFORMANCE")
    or Path(__file__).resolve().parents[3] / "shared" / "conformance" / "eventbridge_patterns.json"
)
AWS_PREFIX = "Event pattern is not valid. Reason: "


def _load_cases() -> list[dict]:
    return json.loads(CORPUS.read_text(encoding="utf-8"))


CASES = _load_cases()


def _pattern_text(case: dict) -> str:
    """The exact text AWS received: the string itself, or json.dumps of the object (see the README)."""
    return case["pattern"] if isinstance(case["pattern"], str) else json.dumps(case["pattern"])


def test_corpus_has_every_case():
    assert len(CASES) == 161


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_engine_gives_the_verdict_aws_gave(case):
    if case["expected"] == "invalid":
        with pytest.raises(InvalidPattern) as raised:
            compile_pattern(_pattern_text(case))
        assert raised.value.reason == case["aws_error"].removeprefix(AWS_PREFIX)
    else:
        pattern = compile_pattern(_pattern_text(case))
        assert pattern.matches(case["event"]) is (case["expected"] == "match")


@pytest.mark.parametrize("case", [c for c in CASES if c["expected"] != "invalid"], ids=lambda c: c["name"])
def test_explanation_verdict_equals_matcher_verdict(case):
    pattern = compile_pattern(_pattern_text(case))
    explanation = explain(pattern, case["event"])
    assert explanation.matched is pattern.matches(case["event"])
    assert (explanation.first_failure is None) is explanation.matched
    json.dumps(explanation.to_dict())
