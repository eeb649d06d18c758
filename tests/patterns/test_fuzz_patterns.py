"""Property-based fuzzing of the pattern engine: any input gets a verdict or an InvalidPattern, never a crash."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.patterns import InvalidPattern, RuleSet, compile_pattern, explain

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=12)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
operator_names = st.sampled_from(
    ["prefix", "suffix", "anything-but", "numeric", "exists", "cidr", "wildcard", "equals-ignore-case", "$or", "x"]
)
operator_values = st.one_of(
    json_values,
    st.lists(st.sampled_from(["<", "<=", "=", ">", ">=", 0, 1.5, -3, "10.0.0.0/8", "a*b"]), max_size=5),
)
# Pattern-shaped documents reach deeper into the parser than arbitrary JSON does.
pattern_leaves = st.lists(
    scalars | st.dictionaries(operator_names, operator_values, min_size=1, max_size=2), max_size=4
)
patterns = st.recursive(
    pattern_leaves,
    lambda children: st.dictionaries(
        st.sampled_from(["source", "detail", "a", "b", "$or", "detail-type"]), children, min_size=1, max_size=3
    ),
    max_leaves=12,
)
events = st.dictionaries(st.sampled_from(["source", "detail", "a", "b", "detail-type", "id"]), json_values, max_size=5)


def compile_or_refuse(pattern: object):
    try:
        return compile_pattern(pattern if isinstance(pattern, str) else json.dumps(pattern))
    except InvalidPattern as error:
        assert isinstance(error.path, str) and error.reason
        return None


@SETTINGS
@given(st.text(max_size=200))
def test_any_text_compiles_or_raises_invalid_pattern(text):
    compile_or_refuse(text)


@SETTINGS
@given(json_values)
def test_any_json_value_compiles_or_raises_invalid_pattern(value):
    compile_or_refuse(value)


@SETTINGS
@given(patterns, events)
def test_pattern_shaped_input_compiles_or_refuses_and_matching_never_raises(pattern, event):
    compiled = compile_or_refuse(pattern)
    if compiled is not None:
        verdict = compiled.matches(event)
        assert isinstance(verdict, bool)
        assert explain(compiled, event).matched is verdict


@SETTINGS
@given(st.lists(patterns, min_size=1, max_size=5), events)
def test_ruleset_agrees_with_each_pattern_on_fuzzed_input(candidates, event):
    rules = RuleSet()
    compiled = {}
    for index, pattern in enumerate(candidates):
        pattern_ = compile_or_refuse(pattern)
        if pattern_ is not None:
            compiled[index] = pattern_
            rules.add(index, pattern_)
    assert rules.matching(event) == {index for index, p in compiled.items() if p.matches(event)}
