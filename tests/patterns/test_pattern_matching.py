"""Matching behaviour the AWS corpus does not pin down, one behaviour per case (the id says which).

Where AWS documents the behaviour or event-ruler (the engine behind EventBridge) implements it, the
case follows that; these are our additions, not AWS-validated answers.
"""

import pytest

from dashboard.patterns import compile_pattern, matches

ENVELOPE = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "Order Placed",
    "source": "shop.orders",
    "account": "111122223333",
    "time": "2025-06-01T12:00:00Z",
    "region": "eu-west-1",
    "resources": [],
}


def event(**detail) -> dict:
    return {**ENVELOPE, "detail": detail}


CASES = [
    # null and empty string
    ("null_matches_null", {"detail": {"v": [None]}}, event(v=None), True),
    ("null_does_not_match_a_missing_field", {"detail": {"v": [None]}}, event(), False),
    ("null_does_not_match_the_string_null", {"detail": {"v": [None]}}, event(v="null"), False),
    ("exists_true_holds_for_a_null_value", {"detail": {"v": [{"exists": True}]}}, event(v=None), True),
    ("exists_false_fails_for_a_null_value", {"detail": {"v": [{"exists": False}]}}, event(v=None), False),
    ("empty_string_matches_empty_string", {"detail": {"v": [""]}}, event(v=""), True),
    ("empty_string_does_not_match_null", {"detail": {"v": [""]}}, event(v=None), False),
    ("empty_string_does_not_match_a_missing_field", {"detail": {"v": [""]}}, event(), False),
    ("empty_prefix_matches_any_string", {"detail": {"v": [{"prefix": ""}]}}, event(v="x"), True),
    ("empty_prefix_does_not_match_a_number", {"detail": {"v": [{"prefix": ""}]}}, event(v=5), False),
    ("empty_suffix_matches_the_empty_string", {"detail": {"v": [{"suffix": ""}]}}, event(v=""), True),
    ("empty_wildcard_matches_only_the_empty_string", {"detail": {"v": [{"wildcard": ""}]}}, event(v=""), True),
    # numbers
    ("integer_pattern_matches_equal_float", {"detail": {"n": [5]}}, event(n=5.0), True),
    ("float_pattern_matches_equal_integer", {"detail": {"n": [5.0]}}, event(n=5), True),
    ("number_pattern_does_not_match_numeric_string", {"detail": {"n": [5]}}, event(n="5"), False),
    ("string_pattern_does_not_match_number", {"detail": {"n": ["5"]}}, event(n=5), False),
    ("true_does_not_match_one", {"detail": {"n": [True]}}, event(n=1), False),
    ("one_does_not_match_true", {"detail": {"n": [1]}}, event(n=True), False),
    ("numeric_does_not_match_a_boolean", {"detail": {"n": [{"numeric": [">", 0]}]}}, event(n=True), False),
    (
        "numeric_equals_matches_scientific_notation",
        {"detail": {"n": [{"numeric": ["=", 3.018e2]}]}},
        event(n=301.8),
        True,
    ),
    ("numeric_greater_or_equal_includes_bound", {"detail": {"n": [{"numeric": [">=", 10]}]}}, event(n=10), True),
    ("numeric_less_than_excludes_bound", {"detail": {"n": [{"numeric": ["<", 10]}]}}, event(n=10), False),
    ("numeric_range_open_at_top", {"detail": {"n": [{"numeric": [">", 0, "<", 1]}]}}, event(n=0.999999), True),
    ("numeric_negative_values", {"detail": {"n": [{"numeric": [">", -10, "<=", -5]}]}}, event(n=-5), True),
    ("numeric_ignores_values_beyond_five_billion", {"detail": {"n": [{"numeric": [">", 0]}]}}, event(n=6e9), False),
    ("numeric_includes_five_billion", {"detail": {"n": [{"numeric": [">", 0]}]}}, event(n=5e9), True),
    ("large_exact_number_matches_itself", {"account": [123456789012]}, {"account": 123456789012}, True),
    ("large_exact_number_differs_from_its_string", {"account": [123456789012]}, {"account": "123456789012"}, False),
    (
        "anything_but_numbers_excludes_equal_float",
        {"detail": {"n": [{"anything-but": [100, 200]}]}},
        event(n=100.0),
        False,
    ),
    (
        "anything_but_numbers_accepts_numeric_string",
        {"detail": {"n": [{"anything-but": [100, 200]}]}},
        event(n="100"),
        True,
    ),
    ("anything_but_numbers_accepts_null", {"detail": {"n": [{"anything-but": [100, 200]}]}}, event(n=None), True),
    ("anything_but_numbers_needs_the_field", {"detail": {"n": [{"anything-but": [100, 200]}]}}, event(), False),
    ("anything_but_string_accepts_equal_number", {"detail": {"n": [{"anything-but": "100"}]}}, event(n=100), True),
    (
        "anything_but_holds_if_any_array_element_differs",
        {"detail": {"v": [{"anything-but": "a"}]}},
        event(v=["a", "b"]),
        True,
    ),
    (
        "anything_but_fails_if_every_array_element_is_excluded",
        {"detail": {"v": [{"anything-but": "a"}]}},
        event(v=["a", "a"]),
        False,
    ),
    (
        "anything_but_empty_prefix_list_accepts_anything",
        {"detail": {"v": [{"anything-but": {"prefix": []}}]}},
        event(v="x"),
        True,
    ),
    (
        "anything_but_ignore_case_accepts_a_number",
        {"detail": {"v": [{"anything-but": {"equals-ignore-case": "a"}}]}},
        event(v=1),
        True,
    ),
    # strings and case
    ("prefix_is_case_sensitive", {"source": [{"prefix": "Shop"}]}, ENVELOPE, False),
    ("prefix_ignoring_case", {"source": [{"prefix": {"equals-ignore-case": "SHOP."}}]}, ENVELOPE, True),
    (
        "suffix_ignoring_case_does_not_match_a_number",
        {"detail": {"v": [{"suffix": {"equals-ignore-case": "1"}}]}},
        event(v=1),
        False,
    ),
    (
        "equals_ignore_case_folds_non_ascii",
        {"detail": {"v": [{"equals-ignore-case": "ÄRGER"}]}},
        event(v="ärger"),
        True,
    ),
    (
        "equals_ignore_case_does_not_fold_kelvin_sign_to_k",
        {"detail": {"v": [{"equals-ignore-case": "k"}]}},
        event(v="\u212a"),
        False,
    ),
    ("exact_match_is_case_sensitive", {"detail-type": ["order placed"]}, ENVELOPE, False),
    # wildcard
    ("wildcard_star_matches_empty_run", {"detail": {"v": [{"wildcard": "a*b"}]}}, event(v="ab"), True),
    ("wildcard_escaped_star_is_literal", {"detail": {"v": [{"wildcard": "a\\*b"}]}}, event(v="a*b"), True),
    ("wildcard_escaped_star_is_not_a_wildcard", {"detail": {"v": [{"wildcard": "a\\*b"}]}}, event(v="axb"), False),
    ("wildcard_escaped_backslash_is_literal", {"detail": {"v": [{"wildcard": "a\\\\*"}]}}, event(v="a\\b"), True),
    ("wildcard_pieces_must_appear_in_order", {"detail": {"v": [{"wildcard": "*b*a*"}]}}, event(v="ab"), False),
    ("wildcard_does_not_match_a_number", {"detail": {"v": [{"wildcard": "*"}]}}, event(v=1), False),
    ("wildcard_star_alone_matches_any_string", {"detail": {"v": [{"wildcard": "*"}]}}, event(v=""), True),
    # IP addresses
    ("cidr_ipv6_contains_address", {"detail": {"ip": [{"cidr": "2001:db8::/32"}]}}, event(ip="2001:db8:ffff::1"), True),
    ("cidr_ipv6_excludes_address", {"detail": {"ip": [{"cidr": "2001:db8::/32"}]}}, event(ip="2001:db9::1"), False),
    ("cidr_ipv4_does_not_contain_ipv6", {"detail": {"ip": [{"cidr": "10.0.0.0/8"}]}}, event(ip="::1"), False),
    (
        "cidr_ipv4_contains_ipv4_mapped_ipv6",
        {"detail": {"ip": [{"cidr": "10.0.0.0/8"}]}},
        event(ip="::ffff:a00:1"),
        True,
    ),
    (
        "cidr_range_starts_at_the_written_address",
        {"detail": {"ip": [{"cidr": "10.0.0.5/24"}]}},
        event(ip="10.0.0.1"),
        False,
    ),
    ("cidr_ignores_hostnames", {"detail": {"ip": [{"cidr": "10.0.0.0/8"}]}}, event(ip="localhost"), False),
    ("exact_ipv6_literal_compares_as_address", {"detail": {"ip": ["::1"]}}, event(ip="0:0:0:0:0:0:0:1"), True),
    ("exact_ipv6_literal_ignores_hex_case", {"detail": {"ip": ["2001:DB8::1"]}}, event(ip="2001:db8::1"), True),
    # objects, arrays and paths
    ("nested_object_matches", {"detail": {"a": {"b": ["x"]}}}, event(a={"b": "x"}), True),
    ("dotted_pattern_key_is_a_nested_path", {"detail.a.b": ["x"]}, event(a={"b": "x"}), True),
    ("later_duplicate_path_replaces_earlier", {"detail.a": ["x"], "detail": {"a": ["y"]}}, event(a="y"), True),
    ("earlier_duplicate_path_no_longer_applies", {"detail.a": ["x"], "detail": {"a": ["y"]}}, event(a="x"), False),
    ("empty_keys_are_joined_with_dots", {"": {"": [1]}}, {"": {"": 1}}, True),
    ("empty_keys_differ_from_no_key", {"": {"": [1]}}, {"": 1}, False),
    ("pattern_value_matches_any_array_element", {"resources": ["arn:2"]}, {"resources": ["arn:1", "arn:2"]}, True),
    ("nested_arrays_are_looked_through", {"detail": {"v": [3]}}, event(v=[[1, 2], [3]]), True),
    ("object_is_not_a_value", {"detail": {"a": [{"exists": True}]}}, event(a={"b": 1}), False),
    ("exists_false_holds_for_an_object", {"detail": {"a": [{"exists": False}]}}, event(a={"b": 1}), True),
    ("exists_false_holds_for_an_empty_array", {"detail": {"a": [{"exists": False}]}}, event(a=[]), True),
    ("exists_false_fails_for_an_array_of_values", {"detail": {"a": [{"exists": False}]}}, event(a=[1]), False),
    ("exists_true_fails_for_an_empty_object", {"detail": {"a": [{"exists": True}]}}, event(a={}), False),
    (
        "fields_in_one_array_element_match",
        {"detail": {"items": {"sku": ["A"], "qty": [2]}}},
        event(items=[{"sku": "A", "qty": 2}]),
        True,
    ),
    (
        "fields_from_different_array_elements_do_not_match",
        {"detail": {"items": {"sku": ["A"], "qty": [2]}}},
        event(items=[{"sku": "A", "qty": 1}, {"sku": "B", "qty": 2}]),
        False,
    ),
    (
        "absent_field_is_judged_within_the_matched_element",
        {"detail": {"items": {"sku": ["A"], "tag": [{"exists": False}]}}},
        event(items=[{"sku": "A"}, {"sku": "B", "tag": "t"}]),
        True,
    ),
    (
        "fields_outside_the_array_combine_with_any_element",
        {"source": ["shop.orders"], "detail": {"items": {"sku": ["B"]}}},
        event(items=[{"sku": "A"}, {"sku": "B"}]),
        True,
    ),
    # $or
    ("or_needs_one_alternative", {"$or": [{"source": ["x"]}, {"detail-type": ["Order Placed"]}]}, ENVELOPE, True),
    ("or_fails_when_no_alternative_holds", {"$or": [{"source": ["x"]}, {"detail-type": ["y"]}]}, ENVELOPE, False),
    (
        "or_combines_with_fields_beside_it",
        {"source": ["x"], "$or": [{"detail-type": ["Order Placed"]}, {"region": ["eu-west-1"]}]},
        ENVELOPE,
        False,
    ),
    (
        "nested_or_inside_or",
        {"$or": [{"source": ["x"]}, {"$or": [{"region": ["y"]}, {"account": ["111122223333"]}]}]},
        ENVELOPE,
        True,
    ),
    ("or_inside_a_nested_object", {"detail": {"$or": [{"a": [1]}, {"b": [2]}]}}, event(b=2), True),
    (
        "two_ors_side_by_side_both_apply",
        {"$or": [{"source": ["shop.orders"]}, {"id": ["x"]}], "detail": {"$or": [{"a": [1]}, {"b": [2]}]}},
        event(c=3),
        False,
    ),
    (
        "dollar_or_inside_the_event_is_an_ordinary_key",
        {"detail": {"$or": [{"a": [1]}, {"b": [2]}]}},
        event(**{"$or": {"a": 1}}),
        False,
    ),
]


@pytest.mark.parametrize(("pattern", "evt", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_matching_behaviour(pattern, evt, expected):
    assert compile_pattern(pattern).matches(evt) is expected


def test_text_after_the_top_level_object_is_ignored_like_aws():
    assert matches('{"source": ["shop.orders"]} trailing words', ENVELOPE)


def test_repeated_key_in_pattern_text_uses_the_last_value():
    text = '{"source": ["nope"], "source": ["shop.orders"]}'
    assert compile_pattern(text).matches(ENVELOPE)


def test_event_that_is_not_an_object_is_a_type_error():
    with pytest.raises(TypeError):
        compile_pattern({"source": ["x"]}).matches(["not", "an", "object"])
