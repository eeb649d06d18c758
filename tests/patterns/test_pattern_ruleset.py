"""RuleSet: many rules compiled into one index; it finds exactly the rules whose patterns match."""

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dashboard.patterns import InvalidPattern, RuleSet, compile_pattern, explain
from dashboard.patterns import match as match_module

EC2_STOPPED = {"source": "aws.ec2", "detail-type": "State Change", "detail": {"state": "stopped", "cpu": 80}}


def test_matching_gives_the_ids_of_matching_rules():
    rules = RuleSet()
    rules.add("ec2", {"source": ["aws.ec2"]})
    rules.add("s3", {"source": ["aws.s3"]})
    rules.add("stopped", {"detail": {"state": [{"prefix": "stop"}]}})
    assert rules.matching(EC2_STOPPED) == {"ec2", "stopped"}


def test_rule_with_nothing_indexable_is_still_checked():
    rules = RuleSet()
    rules.add("not-running", {"detail": {"state": [{"anything-but": "running"}]}})
    rules.add("no-owner", {"detail": {"owner": [{"exists": False}]}})
    assert rules.matching(EC2_STOPPED) == {"not-running", "no-owner"}


def test_numeric_range_rules_are_found_by_value():
    rules = RuleSet()
    rules.add("busy", {"detail": {"cpu": [{"numeric": [">=", 75]}]}})
    rules.add("idle", {"detail": {"cpu": [{"numeric": ["<", 5]}]}})
    rules.add("exactly-80", {"detail": {"cpu": [{"numeric": ["=", 80]}]}})
    assert rules.matching(EC2_STOPPED) == {"busy", "exactly-80"}


def test_rule_matching_through_any_or_branch_is_reported_once():
    rules = RuleSet()
    rules.add("either", {"$or": [{"source": ["aws.ec2"]}, {"detail": {"state": ["stopped"]}}]})
    assert rules.matching(EC2_STOPPED) == {"either"}


def test_removed_rule_no_longer_matches():
    rules = RuleSet()
    rules.add("ec2", {"source": ["aws.ec2"]})
    rules.remove("ec2")
    assert rules.matching(EC2_STOPPED) == set()
    assert len(rules) == 0


def test_adding_an_existing_id_replaces_its_pattern():
    rules = RuleSet()
    rules.add("r", {"source": ["aws.ec2"]})
    rules.add("r", {"source": ["aws.s3"]})
    assert rules.matching(EC2_STOPPED) == set()
    assert len(rules) == 1


def test_removing_an_unknown_id_is_a_key_error():
    with pytest.raises(KeyError):
        RuleSet().remove("missing")


def test_invalid_pattern_leaves_the_set_unchanged():
    rules = RuleSet()
    rules.add("r", {"source": ["aws.ec2"]})
    with pytest.raises(InvalidPattern):
        rules.add("r", {"source": []})
    assert rules.matching(EC2_STOPPED) == {"r"}


def test_length_and_membership():
    rules = RuleSet()
    rules.add(1, '{"source": ["aws.ec2"]}')
    assert len(rules) == 1
    assert 1 in rules


def test_matching_an_event_checks_only_the_rules_indexed_under_its_values(monkeypatch):
    checked = []

    def counting_check(path, test, allow_absent):
        check = compiled_check(path, test, allow_absent)

        def counted(values):
            checked.append(path)
            return check(values)

        return counted

    compiled_check = match_module._condition_check
    monkeypatch.setattr(match_module, "_condition_check", counting_check)
    rules = RuleSet()
    for n in range(1000):
        rules.add(n, {"source": [f"app.{n}"], "detail-type": ["Tick"], "detail": {"n": [{"numeric": [">", n]}]}})
    checked.clear()
    assert rules.matching({"source": "app.7", "detail-type": "Tick", "detail": {"n": 100}}) == {7}
    assert checked == ["detail.n"]


# Property: the index never changes the answer. Patterns and events are drawn from a small vocabulary
# so that they often overlap, including arrays of objects (array consistency) and absent fields.

LEAF_PATHS = ["source", "detail-type", "resources", "detail.state", "detail.n", "detail.items.sku", "detail.items.qty"]
STRINGS = ["", "a", "ab", "ba", "b", "10.0.0.1", "A"]
NUMBERS = [-3, 0, 1, 1.5, 2, 100]
scalars = st.one_of(st.sampled_from(STRINGS), st.sampled_from(NUMBERS), st.booleans(), st.none())


def numeric_operator():
    single = st.tuples(st.sampled_from(["=", "<", "<=", ">", ">="]), st.sampled_from(NUMBERS)).map(list)
    ranged = st.tuples(st.sampled_from(NUMBERS), st.sampled_from(NUMBERS)).filter(lambda b: b[0] < b[1])
    ranged = st.tuples(st.sampled_from([">", ">="]), ranged, st.sampled_from(["<", "<="])).map(
        lambda t: [t[0], t[1][0], t[2], t[1][1]]
    )
    return st.one_of(single, ranged).map(lambda terms: {"numeric": terms})


alternatives = st.one_of(
    scalars,
    st.sampled_from(STRINGS).map(lambda s: {"prefix": s}),
    st.sampled_from(STRINGS).map(lambda s: {"prefix": {"equals-ignore-case": s}}),
    st.sampled_from(STRINGS).map(lambda s: {"suffix": s}),
    st.sampled_from(STRINGS).map(lambda s: {"equals-ignore-case": s}),
    st.sampled_from(["a*", "*b", "*", "a*b", ""]).map(lambda s: {"wildcard": s}),
    st.sampled_from(STRINGS).map(lambda s: {"anything-but": s}),
    st.lists(st.sampled_from(NUMBERS), min_size=1, max_size=3).map(lambda ns: {"anything-but": ns}),
    st.sampled_from(["a", "b"]).map(lambda s: {"anything-but": {"prefix": s}}),
    numeric_operator(),
    st.booleans().map(lambda b: {"exists": b}),
    st.just({"cidr": "10.0.0.0/8"}),
)
fields = st.dictionaries(
    st.sampled_from(LEAF_PATHS), st.lists(alternatives, min_size=1, max_size=3), min_size=1, max_size=3
)


def nest(flat: dict) -> dict:
    pattern: dict = {}
    for path, values in flat.items():
        *parents, leaf = path.split(".")
        node = pattern
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = values
    return pattern


@st.composite
def patterns(draw) -> dict:
    pattern = nest(draw(fields))
    if draw(st.booleans()):
        pattern["$or"] = [nest(draw(fields)), nest(draw(fields))]
    return pattern


def maybe(values):
    return st.one_of(values, st.lists(values, max_size=3))


items = st.fixed_dictionaries({}, optional={"sku": maybe(scalars), "qty": maybe(scalars)})
details = st.fixed_dictionaries(
    {}, optional={"state": maybe(scalars), "n": maybe(scalars), "items": st.lists(items, max_size=3)}
)
events = st.fixed_dictionaries(
    {"id": st.just("1")},
    optional={
        "source": maybe(scalars),
        "detail-type": maybe(scalars),
        "resources": st.lists(scalars, max_size=3),
        "detail": details,
    },
)


def compiled_or_skip(pattern: dict):
    try:
        return compile_pattern(pattern)
    except InvalidPattern:
        assume(False)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(patterns(), min_size=1, max_size=8), st.lists(events, min_size=1, max_size=4), st.data())
def test_rule_set_matches_exactly_the_rules_whose_patterns_match(pattern_list, event_list, data):
    compiled = {rule_id: compiled_or_skip(pattern) for rule_id, pattern in enumerate(pattern_list)}
    rules = RuleSet()
    for rule_id, pattern in compiled.items():
        rules.add(rule_id, pattern)
    removed = data.draw(st.sets(st.sampled_from(sorted(compiled))))
    for rule_id in removed:
        rules.remove(rule_id)
    for event in event_list:
        expected = {rule_id for rule_id, p in compiled.items() if rule_id not in removed and p.matches(event)}
        assert rules.matching(event) == expected
        for pattern in compiled.values():
            assert explain(pattern, event).matched is pattern.matches(event)


indexable_alternatives = st.one_of(scalars, st.sampled_from(STRINGS).map(lambda s: {"prefix": s}), numeric_operator())
indexable_patterns = st.dictionaries(
    st.sampled_from(LEAF_PATHS), st.lists(indexable_alternatives, min_size=1, max_size=2), min_size=1, max_size=2
).map(nest)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(indexable_patterns, min_size=1, max_size=12), st.lists(events, min_size=1, max_size=4))
def test_index_lookups_find_every_rule_they_should(pattern_list, event_list):
    compiled = {rule_id: compile_pattern(pattern) for rule_id, pattern in enumerate(pattern_list)}
    rules = RuleSet()
    for rule_id, pattern in compiled.items():
        rules.add(rule_id, pattern)
    for event in event_list:
        assert rules.matching(event) == {rule_id for rule_id, p in compiled.items() if p.matches(event)}


def test_prefix_as_long_as_the_value_is_found():
    rules = RuleSet()
    rules.add("r", {"detail": {"state": [{"prefix": "stopped"}]}})
    assert rules.matching(EC2_STOPPED) == {"r"}
