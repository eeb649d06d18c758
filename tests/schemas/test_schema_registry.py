"""The registry: numbered immutable versions, compatibility modes and rule sets per schema."""

import pytest

from dashboard.models import EventSchema, SchemaVersion
from dashboard.models.schemas import ImmutableVersion
from dashboard.schemas import InvalidSchema
from dashboard.schemas.registry import IncompatibleSchema, Kind, check_candidate, configure, register_version

pytestmark = pytest.mark.django_db

KIND = Kind("default", "test.registry", "UserSignedUp")
OPEN_V1 = {"type": "object", "properties": {"name": {"type": "string"}}}
OPEN_V2 = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}}


def test_versions_are_numbered_from_one():
    numbers = [register_version(KIND, document)[0].number for document in ({}, {"title": "a"}, {"title": "b"})]
    assert numbers == [1, 2, 3]


def test_a_registered_version_cannot_change():
    version, _ = register_version(KIND, OPEN_V1)
    version.document = {"type": "string"}
    with pytest.raises(ImmutableVersion):
        version.save()


def test_same_kind_on_another_bus_is_another_schema():
    register_version(KIND, OPEN_V1)
    register_version(Kind("audit", KIND.source, KIND.detail_type), {"type": "string"})
    assert EventSchema.objects.filter(source=KIND.source).count() == 2


def test_strict_rules_refuse_a_property_added_to_an_open_model():
    register_version(KIND, OPEN_V1)
    with pytest.raises(IncompatibleSchema) as refused:
        register_version(KIND, OPEN_V2)
    assert refused.value.problems == ["backward v1: OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL #/properties/age"]
    assert SchemaVersion.objects.filter(schema__source=KIND.source).count() == 1


def test_lenient_rules_accept_a_property_added_to_an_open_model():
    register_version(KIND, OPEN_V1)
    configure(KIND, rules="lenient")
    assert register_version(KIND, OPEN_V2)[0].number == 2


def test_forward_mode_refuses_what_old_readers_cannot_read():
    register_version(KIND, {"type": "integer"})
    configure(KIND, compatibility="FORWARD")
    with pytest.raises(IncompatibleSchema) as refused:
        register_version(KIND, {"type": "number"})
    assert refused.value.problems == ["forward v1: TYPE_NARROWED #/"]


def test_full_transitive_checks_every_earlier_version_both_ways():
    configure(KIND, compatibility="NONE")
    register_version(KIND, {"type": "string", "maxLength": 5})
    register_version(KIND, {"type": "string", "maxLength": 10})
    configure(KIND, compatibility="FULL_TRANSITIVE")
    problems = check_candidate(KIND, {"type": "string", "maxLength": 10})
    assert problems == ["forward v1: MAX_LENGTH_DECREASED #/maxLength"]


def test_none_mode_accepts_any_change():
    register_version(KIND, {"type": "string"})
    configure(KIND, compatibility="NONE")
    assert register_version(KIND, {"type": "object"})[0].number == 2


def test_check_of_an_unknown_kind_is_always_compatible():
    assert check_candidate(Kind("default", "nobody", "Nothing"), {"type": "string"}) == []


def test_invalid_document_is_refused_before_anything_is_stored():
    with pytest.raises(InvalidSchema):
        register_version(KIND, {"type": "object", "required": "name"})
    assert not EventSchema.objects.filter(source=KIND.source).exists()


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="compatibility must be one of"):
        configure(KIND, compatibility="BACKWARDS")
