"""Array consistency costs time linear in the event, in RuleSet and Pattern.matches alike, with the same verdicts.

Issue 10: an event whose items each hold one of a rule's fields made RuleSet.matching O(N^4) (1.9 s at
N=40) and Pattern.matches O(N^2). The time limits below are generous (the engine needs a few ms) and
enforced with a timer signal, so the old engine fails them instead of hanging the run.
"""

import signal
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.patterns import Budget, PatternTooComplex, RuleSet, compile_pattern
from dashboard.patterns.flatten import flatten_event, steps

ORDERS_RULE = {"source": ["shop.orders"], "detail": {"items": {"sku": ["A1"], "qty": [1]}}}


@contextmanager
def within(seconds: float) -> Iterator[None]:
    def expired(_signum, _frame):
        raise TimeoutError(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def split_items(n: int, fields: dict) -> dict:
    """Items that each hold one of the rule's fields: every field matches, never within one item."""
    items = [{name: value} for _ in range(n) for name, value in fields.items()]
    return {"source": "shop.orders", "detail": {"items": items}}


def one_rule(pattern: dict) -> RuleSet:
    rules = RuleSet()
    rules.add("rule", pattern)
    return rules


def test_ruleset_decides_a_300_item_cross_product_in_under_a_second():
    rules, event = one_rule(ORDERS_RULE), split_items(300, {"sku": "A1", "qty": 1})
    with within(1.0):
        assert rules.matching(event) == set()


def test_pattern_decides_a_3000_item_cross_product_in_under_a_second():
    pattern, event = compile_pattern(ORDERS_RULE), split_items(3000, {"sku": "A1", "qty": 1})
    with within(1.0):
        assert not pattern.matches(event)


def test_a_consistent_item_after_300_split_ones_still_matches():
    event = split_items(300, {"sku": "A1", "qty": 1})
    event["detail"]["items"].append({"sku": "A1", "qty": 1})
    with within(1.0):
        assert one_rule(ORDERS_RULE).matching(event) == {"rule"}
        assert compile_pattern(ORDERS_RULE).matches(event)


def test_independent_arrays_cost_the_sum_of_their_sizes_not_the_product():
    names = ["x", "y"]
    detail = {f"a{a}": [{name: 1} for _ in range(40) for name in names] + [{"x": 1, "y": 1}] for a in range(3)}
    detail["a3"] = [{name: 1} for _ in range(40) for name in names]  # the last array never has both
    pattern = {"detail": {f"a{a}": {"x": [1], "y": [1]} for a in range(4)}}
    with within(1.0):
        assert one_rule(pattern).matching({"detail": detail}) == set()
        assert not compile_pattern(pattern).matches({"detail": detail})


def test_leaves_deep_in_nested_arrays_cost_their_number_not_their_number_times_depth():
    inner: list = [0] * 60_000
    for _ in range(240):
        inner = [inner, 1]
    event = {"a": [{"x": 1}, inner]}
    with within(2.0):
        assert not compile_pattern({"a": [0], "a.x": [2]}).matches(event)


def test_pair_index_looks_up_distinct_values_without_their_cross_product():
    event = {"detail": {"a": [f"a{i}" for i in range(10_000)], "b": [f"b{i}" for i in range(10_000)]}}
    rules = RuleSet()
    rules.add("miss", {"detail": {"a": ["a-none"], "b": ["b-none"]}})
    rules.add("hit", {"detail": {"a": ["a7"], "b": ["b9999"]}})
    with within(1.0):
        assert rules.matching(event) == {"hit"}


def test_evaluation_beyond_its_budget_raises_pattern_too_complex():
    event = split_items(300, {"sku": "A1", "qty": 1})
    with pytest.raises(PatternTooComplex):
        compile_pattern(ORDERS_RULE).matches(event, Budget(steps=100))


def test_a_deadline_in_the_past_stops_evaluation():
    event = split_items(3000, {"sku": "A1", "qty": 1})
    with pytest.raises(PatternTooComplex):
        compile_pattern(ORDERS_RULE).matches(event, Budget(seconds=0))


def test_plain_matching_is_charged_to_an_explicit_budget():
    event = {"detail": {"a": list(range(1000))}}
    with pytest.raises(PatternTooComplex):
        compile_pattern({"detail": {"a": [999]}}).matches(event, Budget(steps=500))


# --- Same verdicts as the reference search on adversarial shapes --------------------------------------


def reference_matches(pattern, event: dict) -> bool:
    """The exhaustive backtracking search the engine used before issue 10, kept as the specification."""
    flat = flatten_event(event, pattern.wanted)

    def consistent(chosen: dict, membership) -> bool:
        return all(chosen.get(array, index) == index for array, index in steps(membership))

    def search(conditions, position: int, chosen: dict) -> bool:
        if position == len(conditions):
            return True
        condition = conditions[position]
        found = flat.entries.get(condition.path, ())
        if (
            condition.allow_absent
            and not any(consistent(chosen, membership) for _, membership in found)
            and search(conditions, position + 1, chosen)
        ):
            return True
        if condition.test is None:
            return False
        return any(
            condition.test(value)
            and consistent(chosen, membership)
            and search(conditions, position + 1, {**chosen, **dict(steps(membership))})
            for value, membership in found
        )

    return any(
        search(branch.conditions, 0, {})
        if flat.entries is not None and len(branch.conditions) > 1
        else all(c.check(flat.values) for c in branch.conditions)
        for branch in pattern.branches
    )


KEYS = ["a", "b", "c"]
leaf_values = st.sampled_from([1, 2, "x", "y", None])
# Objects in arrays in objects, a few levels deep: the shapes array consistency is about.
nodes = st.recursive(
    leaf_values,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(KEYS), children, max_size=3),
    max_leaves=24,
)
events = st.dictionaries(st.sampled_from(KEYS), nodes, min_size=1, max_size=3)
paths = st.lists(st.sampled_from(KEYS), min_size=1, max_size=3).map(".".join)
field_values = st.lists(
    st.sampled_from([1, 2, "x", "y", None, {"exists": False}, {"exists": True}, {"anything-but": "x"}]),
    min_size=1,
    max_size=2,
)


def nest(conditions: dict[str, list]) -> dict:
    """A pattern object from dotted paths (a path that is a prefix of another is dropped: it cannot be both)."""
    pattern: dict = {}
    for path, values in sorted(conditions.items()):
        keys = path.split(".")
        node = pattern
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                break
        else:
            if keys[-1] not in node:
                node[keys[-1]] = values
    return pattern


patterns = st.dictionaries(paths, field_values, min_size=1, max_size=4).map(nest)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patterns, events)
def test_pattern_and_ruleset_agree_with_the_reference_search(pattern, event):
    compiled = compile_pattern(pattern)
    expected = reference_matches(compiled, event)
    assert compiled.matches(event) == expected
    assert one_rule(pattern).matching(event) == ({"rule"} if expected else set())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from([{"sku": "A1"}, {"qty": 1}, {"sku": "A1", "qty": 1}, {"sku": "B"}]), max_size=12))
def test_items_split_or_whole_agree_with_the_reference_search(items):
    event = {"source": "shop.orders", "detail": {"items": items}}
    compiled = compile_pattern(ORDERS_RULE)
    expected = reference_matches(compiled, event)
    assert compiled.matches(event) == expected
    assert one_rule(ORDERS_RULE).matching(event) == ({"rule"} if expected else set())
