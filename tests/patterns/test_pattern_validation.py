"""Invalid patterns are refused once, at compile time, with the path to the problem and AWS's reason.

The AWS-validated refusals are in the conformance corpus; these cases cover the rest of the rule
compiler's checks (reasons worded as AWS words them) and our own limits.
"""

import dataclasses
import json

import pytest

from dashboard.patterns import MAX_PATTERN_LENGTH, InvalidPattern, compile_pattern

TOO_COMPLEX = (
    "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a "
    "wildcard character"
)
INVALID = [
    ("empty_pattern_object", {}, "", "Empty objects are not allowed"),
    ("empty_nested_object", {"detail": {}}, "detail", "Empty objects are not allowed"),
    ("scalar_field_value", {"detail": {"total": 5}}, "detail.total", '"total" must be an object or an array'),
    (
        "nested_array_as_value",
        {"source": [["a"]]},
        "source",
        "Match value must be String, number, true, false, or null",
    ),
    ("empty_match_expression", {"source": [{}]}, "source", "Match expression name not found"),
    ("unknown_operator", {"source": [{"contains": "a"}]}, "source", "Unrecognized match type contains"),
    (
        "two_operators_in_one_object",
        {"source": [{"prefix": "a", "suffix": "b"}]},
        "source",
        "Only one key allowed in match expression",
    ),
    (
        "prefix_with_other_than_ignore_case",
        {"source": [{"prefix": {"exactly": "a"}}]},
        "source",
        "Unsupported prefix pattern: exactly",
    ),
    (
        "suffix_ignore_case_not_a_string",
        {"source": [{"suffix": {"equals-ignore-case": 1}}]},
        "source",
        "equals-ignore-case match pattern must be a string",
    ),
    (
        "exists_not_boolean",
        {"source": [{"exists": "yes"}]},
        "source",
        "exists match pattern must be either true or false.",
    ),
    ("numeric_operator_not_a_string", {"n": [{"numeric": [5]}]}, "n", "Invalid member in numeric match: 5"),
    ("numeric_empty_array", {"n": [{"numeric": []}]}, "n", "Invalid member in numeric match: ]"),
    ("numeric_unknown_operator", {"n": [{"numeric": ["!=", 5]}]}, "n", "Unrecognized numeric range operator: !="),
    ("numeric_equals_needs_a_number", {"n": [{"numeric": ["=", "5"]}]}, "n", "Value of equals must be numeric"),
    (
        "numeric_equals_takes_one_number",
        {"n": [{"numeric": ["=", 5, 6]}]},
        "n",
        "Too many elements in numeric expression",
    ),
    (
        "numeric_less_than_takes_one_number",
        {"n": [{"numeric": ["<", 5, ">", 1]}]},
        "n",
        "Too many elements in numeric expression",
    ),
    (
        "numeric_range_bottom_not_below_top",
        {"n": [{"numeric": [">=", 5, "<=", 5]}]},
        "n",
        "Bottom must be less than top",
    ),
    ("numeric_range_upper_not_a_string", {"n": [{"numeric": [">", 1, 5]}]}, "n", "Bad value in numeric range: 5"),
    (
        "numeric_range_too_many_terms",
        {"n": [{"numeric": [">", 1, "<", 5, 6]}]},
        "n",
        "Too many terms in numeric range expression",
    ),
    (
        "numeric_beyond_five_billion",
        {"n": [{"numeric": ["<", 6e9]}]},
        "n",
        "Value must be between -5.0E9 and 5.0E9, inclusive",
    ),
    ("numeric_greater_than_the_maximum", {"n": [{"numeric": [">", 5e9]}]}, "n", "Bottom must be less than top"),
    (
        "numeric_with_a_second_key",
        {"n": [{"numeric": [">", 1], "x": 1}]},
        "n",
        "Too many elements in numeric expression",
    ),
    (
        "anything_but_boolean",
        {"s": [{"anything-but": True}]},
        "s",
        "Value of anything-but must be an array or single string/number value.",
    ),
    (
        "anything_but_empty_list",
        {"s": [{"anything-but": []}]},
        "s",
        "Inside anything but list, either all values are number or string, mixed type is not supported",
    ),
    (
        "anything_but_mixed_list",
        {"s": [{"anything-but": ["a", 1]}]},
        "s",
        "Inside anything but list, either all values are number or string, mixed type is not supported",
    ),
    (
        "anything_but_unsupported_form",
        {"s": [{"anything-but": {"numeric": [">", 1]}}]},
        "s",
        "Unsupported anything-but pattern: numeric",
    ),
    ("anything_but_empty_object", {"s": [{"anything-but": {}}]}, "s", "Anything-But expression name not found"),
    (
        "anything_but_number_out_of_range",
        {"s": [{"anything-but": [6e9]}]},
        "s",
        "Value must be between -5.0E9 and 5.0E9, inclusive",
    ),
    (
        "anything_but_wildcard_consecutive_stars",
        {"s": [{"anything-but": {"wildcard": "a**"}}]},
        "s",
        "Consecutive wildcard characters at pos 2",
    ),
    (
        "anything_but_with_a_second_key",
        {"s": [{"anything-but": "a", "x": 1}]},
        "s",
        "Too many elements in numeric expression",
    ),
    ("wildcard_invalid_escape", {"s": [{"wildcard": "a\\b"}]}, "s", "Invalid escape character at pos 2"),
    ("wildcard_trailing_backslash", {"s": [{"wildcard": "a\\"}]}, "s", "Invalid escape character at pos 2"),
    ("cidr_ipv4_slash_32", {"ip": [{"cidr": "10.0.0.1/32"}]}, "ip", "IPv4 mask bits must be < 32"),
    ("cidr_ipv6_slash_128", {"ip": [{"cidr": "::1/128"}]}, "ip", "IPv6 mask bits must be < 128"),
    ("cidr_negative_mask", {"ip": [{"cidr": "10.0.0.0/-1"}]}, "ip", "Malformed CIDR, mask bits must not be negative"),
    ("cidr_address_out_of_range", {"ip": [{"cidr": "10.0.0.256/24"}]}, "ip", "Invalid IP address: 10.0.0.256"),
    ("cidr_trailing_slash", {"ip": [{"cidr": "10.0.0.0/"}]}, "ip", "Malformed CIDR, one '/' required"),
    ("or_not_an_array", {"$or": {"a": ["x"]}}, "$or", "It must be an Array followed with $or."),
    ("or_with_one_object", {"$or": [{"a": ["x"]}]}, "$or", "There must have at least 2 Objects in $or relationship."),
    (
        "or_with_a_non_object",
        {"detail": {"$or": [{"a": ["x"]}, ["b"]]}},
        "detail.$or",
        "Only JSON object is allowed in array of $or relationship.",
    ),
    (
        "operator_name_as_key_inside_or",
        {"$or": [{"prefix": ["x"]}, {"a": ["y"]}]},
        "prefix",
        "prefix is Ruler reserved fieldName which cannot be used inside $or.",
    ),
    (
        "wildcard_too_complex_across_alternatives",
        {"s": [{"wildcard": f"*{c}*{c}*{c}*"} for c in "abc"]},
        "s",
        TOO_COMPLEX,
    ),
]


@pytest.mark.parametrize(("pattern", "path", "reason"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_pattern_names_path_and_reason(pattern, path, reason):
    with pytest.raises(InvalidPattern) as raised:
        compile_pattern(pattern)
    assert (raised.value.path, raised.value.reason) == (path, reason)


def test_message_names_the_path_then_the_reason():
    with pytest.raises(InvalidPattern) as raised:
        compile_pattern({"detail": {"total": [{"numeric": [">", "ten"]}]}})
    assert str(raised.value) == "Invalid pattern at detail.total: Value of > must be numeric"


def test_message_for_the_whole_pattern_has_no_path():
    with pytest.raises(InvalidPattern) as raised:
        compile_pattern("[1, 2]")
    assert str(raised.value) == "Invalid pattern: Filter is not an object"


def test_invalid_pattern_is_a_value_error():
    assert issubclass(InvalidPattern, ValueError)


def test_first_problem_in_document_order_is_reported():
    with pytest.raises(InvalidPattern) as raised:
        compile_pattern('{"a": [], "b": 5}')
    assert raised.value.path == "a"


@pytest.mark.parametrize("text", ["", "   ", "5", '"text"', "null", "true"])
def test_pattern_text_that_is_not_an_object_is_refused(text):
    with pytest.raises(InvalidPattern, match="Filter is not an object"):
        compile_pattern(text)


def test_broken_json_is_refused_in_jacksons_words():
    with pytest.raises(InvalidPattern) as raised:
        compile_pattern('{"a": [1,]}')
    assert raised.value.reason.startswith("Unexpected character (']' (code 93))")


def test_non_numeric_number_tokens_are_refused():
    with pytest.raises(InvalidPattern, match="Non-standard token 'NaN'"):
        compile_pattern('{"n": [NaN]}')


def test_pattern_longer_than_the_aws_limit_is_refused():
    text = json.dumps({"source": ["x" * MAX_PATTERN_LENGTH]})
    with pytest.raises(InvalidPattern, match=f"longer than {MAX_PATTERN_LENGTH} characters"):
        compile_pattern(text)


def test_pattern_at_the_aws_limit_is_accepted():
    padding = MAX_PATTERN_LENGTH - len(json.dumps({"source": [""]}))
    compile_pattern(json.dumps({"source": ["x" * padding]}))


def test_or_that_multiplies_out_too_far_is_refused():
    pattern = {f"f{i}": {"$or": [{"a": ["x"]}, {"b": ["y"]}]} for i in range(11)}
    with pytest.raises(InvalidPattern, match=r"\$or expands to more than"):
        compile_pattern(pattern)


def test_dict_pattern_is_compiled_from_its_json_text():
    pattern = {"source": ["shop"]}
    assert compile_pattern(pattern).source == json.dumps(pattern)


def test_dict_pattern_that_is_not_json_is_refused():
    with pytest.raises(InvalidPattern, match="not JSON"):
        compile_pattern({"source": [{1, 2}]})


def test_operator_names_are_plain_keys_outside_or():
    assert compile_pattern({"prefix": ["x"]}).matches({"prefix": "x"})


def test_compiled_pattern_is_immutable():
    pattern = compile_pattern({"source": ["shop"]})
    with pytest.raises(dataclasses.FrozenInstanceError):
        pattern.source = "{}"
