"""The compatibility checker beyond the corpus: 2020-12 keywords, references, modes, bounded cost, bad input."""

import pytest

from dashboard.schemas import InvalidSchema, SchemaTooComplex, check_compatibility, incompatibilities
from dashboard.schemas import compatibility as compatibility_module


def changes(original, update, mode="strict"):
    return [str(change) for change in check_compatibility(original, update, mode).changes]


def test_prefix_items_are_compared_like_draft_07_tuples():
    original = {"type": "array", "prefixItems": [{"type": "string"}], "items": False}
    update = {"type": "array", "prefixItems": [{"type": "number"}], "items": False}
    assert changes(original, update) == ["TYPE_CHANGED #/items/0"]


def test_items_beside_prefix_items_is_the_schema_of_further_items():
    original = {"type": "array", "prefixItems": [{"type": "string"}], "items": {"type": "string"}}
    update = {"type": "array", "prefixItems": [{"type": "string"}], "items": {"type": "integer"}}
    assert changes(original, update) == ["TYPE_CHANGED #/additionalItems"]


def test_defs_are_followed_through_ref():
    original = {"$ref": "#/$defs/age", "$defs": {"age": {"type": "number"}}}
    update = {"$ref": "#/$defs/age", "$defs": {"age": {"type": "integer"}}}
    assert changes(original, update) == ["TYPE_NARROWED #/"]


def test_dependent_required_is_read_as_a_dependency_array():
    original = {"dependentRequired": {"card": ["billing"]}}
    update = {"dependentRequired": {}}
    result = check_compatibility(original, update)
    assert result.compatible
    assert [str(change) for change in result.changes] == ["DEPENDENCY_ARRAY_REMOVED #/dependencies/card"]


def test_recursive_schema_compared_with_itself_has_no_changes():
    tree = {
        "$ref": "#/definitions/node",
        "definitions": {
            "node": {
                "type": "object",
                "properties": {"children": {"type": "array", "items": {"$ref": "#/definitions/node"}}},
            }
        },
    }
    assert changes(tree, tree) == []


def test_change_deep_inside_a_recursive_schema_is_found():
    def tree(leaf_type):
        return {
            "$ref": "#/definitions/node",
            "definitions": {
                "node": {
                    "type": "object",
                    "properties": {
                        "value": {"type": leaf_type},
                        "children": {"type": "array", "items": {"$ref": "#/definitions/node"}},
                    },
                }
            },
        }

    assert changes(tree("number"), tree("string")) == ["TYPE_CHANGED #/properties/value"]


def test_reference_to_itself_with_nothing_between_is_invalid():
    with pytest.raises(InvalidSchema, match="refers to itself"):
        check_compatibility({"$ref": "#"}, {})


def test_reference_to_a_missing_definition_is_invalid():
    with pytest.raises(InvalidSchema) as raised:
        check_compatibility({"$ref": "#/definitions/nowhere"}, {})
    assert raised.value.path == "/definitions/nowhere"


def test_remote_reference_is_refused():
    with pytest.raises(InvalidSchema, match="only local references"):
        check_compatibility({"$ref": "https://example.com/schema.json"}, {})


def test_unknown_type_names_the_pointer():
    with pytest.raises(InvalidSchema) as raised:
        check_compatibility({"properties": {"age": {"type": "int"}}}, {})
    assert raised.value.path == "/properties/age/type"


def test_schema_that_is_not_an_object_is_invalid():
    with pytest.raises(InvalidSchema):
        check_compatibility([], {})


def test_deep_nesting_is_refused_before_it_is_walked():
    deep = {}
    for _ in range(200):
        deep = {"not": deep}
    with pytest.raises(InvalidSchema, match="nested more than"):
        check_compatibility(deep, {})


def test_comparison_over_its_step_budget_raises(monkeypatch):
    monkeypatch.setattr(compatibility_module, "MAX_STEPS", 10)
    wide = {"anyOf": [{"type": "string", "minLength": n} for n in range(10)]}
    with pytest.raises(SchemaTooComplex):
        check_compatibility(wide, wide)


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="mode must be"):
        check_compatibility({}, {}, "relaxed")


def test_backward_mode_checks_only_the_latest_version():
    v1 = {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False}
    v2 = {"type": "object", "properties": {}, "additionalProperties": False}
    v3 = {"type": "object", "properties": {"a": {"type": "number"}}, "additionalProperties": False}
    assert incompatibilities(v3, [v1, v2], "BACKWARD") == []
    assert incompatibilities(v3, [v1, v2], "BACKWARD_TRANSITIVE") == ["backward v1: TYPE_CHANGED #/properties/a"]


def test_forward_mode_is_the_backward_check_reversed():
    narrow = {"type": "integer"}
    wide = {"type": "number"}
    assert incompatibilities(wide, [narrow], "BACKWARD") == []
    assert incompatibilities(wide, [narrow], "FORWARD") == ["forward v1: TYPE_NARROWED #/"]
    assert incompatibilities(wide, [narrow], "FULL") == ["forward v1: TYPE_NARROWED #/"]


def test_none_mode_accepts_anything():
    assert incompatibilities({"type": "string"}, [{"type": "object"}], "NONE") == []
