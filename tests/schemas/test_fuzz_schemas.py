"""Property-based fuzzing of the schema tools: any document gets an answer or InvalidSchema, never a crash."""

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.schemas import (
    InvalidSchema,
    SchemaTooComplex,
    check_compatibility,
    python_bindings,
    typescript_bindings,
)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=12,
)
keywords = st.sampled_from(
    [
        "type", "properties", "required", "additionalProperties", "patternProperties", "items", "prefixItems",
        "additionalItems", "enum", "const", "allOf", "anyOf", "oneOf", "not", "$ref", "definitions", "$defs",
        "minimum", "maximum", "multipleOf", "minLength", "maxLength", "pattern", "dependencies", "minItems",
        "uniqueItems", "unevaluatedItems", "default", "title", "$id",
    ]
)  # fmt: skip
keyword_values = st.one_of(
    json_values,
    st.sampled_from(["string", "number", "integer", "object", "array", "null", "boolean", ["string", "null"]]),
    st.sampled_from(["#", "#/definitions/a", "#/$defs/a", "#/properties/a", "http://x/y"]),
)
schemas = st.recursive(
    st.booleans() | st.dictionaries(keywords, keyword_values, max_size=3),
    lambda children: (
        st.dictionaries(keywords, children | st.lists(children, max_size=3), max_size=4)
        | st.fixed_dictionaries(
            {"properties": st.dictionaries(st.sampled_from(["a", "b", "c/d"]), children, max_size=3)}
        )
        | st.fixed_dictionaries(
            {"definitions": st.fixed_dictionaries({"a": children}), "$ref": st.just("#/definitions/a")}
        )
    ),
    max_leaves=16,
)
documents = schemas | json_values


@SETTINGS
@given(documents, documents, st.sampled_from(["strict", "lenient"]))
def test_any_pair_of_documents_gets_a_verdict_or_invalid_schema(original, update, mode):
    try:
        result = check_compatibility(original, update, mode)
    except (InvalidSchema, SchemaTooComplex):
        return
    assert isinstance(result.compatible, bool)
    assert all(str(change).split(" ")[1].startswith("#/") for change in result.changes)


@SETTINGS
@given(schemas)
def test_a_schema_compared_with_itself_is_compatible(schema):
    with contextlib.suppress(InvalidSchema, SchemaTooComplex):
        assert check_compatibility(schema, schema).compatible


@SETTINGS
@given(documents)
def test_bindings_of_any_document_are_source_text_or_invalid_schema(document):
    try:
        python = python_bindings(document, "Detail")
        typescript = typescript_bindings(document, "Detail")
    except InvalidSchema:
        return
    compile(python, "<bindings>", "exec")
    assert typescript.startswith("// Detail")
