"""explain() shows, field by field, why a pattern did or did not match: for the playground and the API."""

import json

import pytest

from dashboard.patterns import InvalidPattern, compile_pattern, explain

EVENT = {
    "source": "shop.orders",
    "detail-type": "Order Placed",
    "detail": {"total": 12.5, "items": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 2}]},
}


def fields_by_path(explanation, branch=0) -> dict:
    return {field.path: field for field in explanation.branches[branch].fields}


def test_each_pattern_field_is_traced_with_the_event_values_at_its_path():
    explanation = explain({"source": ["shop.orders"], "detail": {"total": [{"numeric": [">", 100]}]}}, EVENT)
    traced = fields_by_path(explanation)
    assert traced["source"].values == ("shop.orders",)
    assert traced["source"].matched
    assert traced["detail.total"].values == (12.5,)
    assert not traced["detail.total"].matched


def test_trace_names_the_operators_of_each_field():
    explanation = explain({"source": ["x", {"prefix": "shop"}, {"anything-but": {"suffix": ".test"}}]}, EVENT)
    assert fields_by_path(explanation)["source"].operators == ("exact", "prefix", "anything-but/suffix")


def test_first_failure_is_the_path_of_the_first_failing_field():
    explanation = explain({"source": ["shop.orders"], "detail": {"total": [{"numeric": ["<", 10]}]}}, EVENT)
    assert not explanation.matched
    assert explanation.first_failure == "detail.total"


def test_first_failure_is_none_on_a_match():
    assert explain({"source": ["shop.orders"]}, EVENT).first_failure is None


def test_absent_field_is_traced_with_no_values():
    field = fields_by_path(explain({"detail": {"coupon": [{"exists": False}]}}, EVENT))["detail.coupon"]
    assert field.values == ()
    assert field.matched


def test_each_or_branch_is_traced_with_its_label():
    pattern = {"source": ["shop.orders"], "$or": [{"detail-type": ["Refund"]}, {"detail": {"total": [12.5]}}]}
    explanation = explain(pattern, EVENT)
    assert [(b.label, b.matched) for b in explanation.branches] == [("$or[0]", False), ("$or[1]", True)]
    assert explanation.matched


def test_fields_matching_in_different_array_elements_are_explained():
    explanation = explain({"detail": {"items": {"sku": ["A"], "qty": [2]}}}, EVENT)
    assert not explanation.matched
    assert all(field.matched for field in explanation.branches[0].fields)
    assert "same array element" in explanation.branches[0].note


def test_to_dict_is_json_for_the_api_and_playground():
    explanation = explain('{"source": ["shop.orders"], "detail": {"total": [{"numeric": [">", 1e1]}]}}', EVENT)
    rendered = json.loads(json.dumps(explanation.to_dict()))
    assert rendered["matched"] is True
    assert rendered["first_failure"] is None
    total = next(f for f in rendered["branches"][0]["fields"] if f["path"] == "detail.total")
    assert total == {
        "path": "detail.total",
        "operators": ["numeric"],
        "expected": [{"numeric": [">", 10.0]}],
        "values": [12.5],
        "present": True,
        "matched": True,
    }


def test_explain_accepts_a_compiled_pattern():
    pattern = compile_pattern({"source": ["shop.orders"]})
    assert explain(pattern, EVENT).matched is pattern.matches(EVENT)


def test_explain_refuses_an_invalid_pattern():
    with pytest.raises(InvalidPattern):
        explain({"source": []}, EVENT)
