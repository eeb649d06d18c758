"""evaluate_pattern, the one entry point for request-time evaluation: bounded depth, steps and time."""

import json

import pytest

from dashboard.patterns import (
    Budget,
    InvalidEvent,
    InvalidPattern,
    PatternTooComplex,
    RuleSet,
    compile_pattern,
    evaluate_pattern,
)


def nested(depth: int, leaf: object) -> dict:
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


def test_evaluation_explains_a_match():
    explanation = evaluate_pattern('{"source": ["shop"]}', {"source": "shop"})
    assert explanation.matched


def test_a_pattern_object_nested_past_the_limit_is_an_invalid_pattern():
    with pytest.raises(InvalidPattern, match="deeper than 253 levels"):
        evaluate_pattern(nested(300, ["x"]), {"source": "x"})


def test_an_event_nested_past_the_limit_is_an_invalid_event():
    with pytest.raises(InvalidEvent, match="deeper than 253 levels"):
        evaluate_pattern('{"source": ["x"]}', nested(300, "x"))


def test_arrays_nested_past_the_limit_count_as_levels_too():
    deep: object = "x"
    for _ in range(300):
        deep = [deep]
    with pytest.raises(InvalidEvent):
        evaluate_pattern('{"a": ["x"]}', {"a": deep})


def test_pattern_text_nested_past_the_parser_is_an_invalid_pattern_not_a_recursion_error():
    with pytest.raises(InvalidPattern, match="nested too deeply"):
        compile_pattern('{"a":' + "[" * 2000 + "]" * 2000 + "}")


def test_a_pattern_dict_nested_past_the_encoder_is_an_invalid_pattern():
    with pytest.raises(InvalidPattern, match="nested too deeply"):
        compile_pattern(nested(2000, ["x"]))


def test_the_compact_form_of_a_pattern_object_counts_against_the_length_limit():
    pattern = {"$or": [{"a": [number]} for number in range(300)]}
    assert len(json.dumps(pattern)) > 4096
    evaluate_pattern(pattern, {"a": 1})


def test_evaluation_over_its_step_budget_is_pattern_too_complex():
    pattern = {"$or": [{"a": [number]} for number in range(300)]}
    with pytest.raises(PatternTooComplex):
        evaluate_pattern(pattern, {"a": list(range(1000, 11_000))})


def test_ruleset_matching_charges_array_consistency_to_a_given_budget():
    rules = RuleSet()
    rules.add("rule", {"detail": {"items": {"sku": ["A1"], "qty": [1]}}})
    event = {"detail": {"items": [{"sku": "A1"}, {"qty": 1}] * 500}}
    with pytest.raises(PatternTooComplex):
        rules.matching(event, Budget(steps=50))
