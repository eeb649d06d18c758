"""Validation at publish: off, warn (stored, flagged, counted) and enforce (entry refused, batch stored)."""

import json
import urllib.request

import pytest

from dashboard.ingest.publishing import publish_entries
from dashboard.models import Event, EventSchema, SchemaViolation
from dashboard.schemas import InvalidSchema
from dashboard.schemas import validation as schema_validation
from dashboard.schemas.registry import Kind, configure, register_version
from dashboard.schemas.validation import compile_validator, first_violation, schema_check

pytestmark = pytest.mark.django_db

KIND = Kind("default", "test.validation", "PaymentTaken")
SCHEMA = {
    "type": "object",
    "required": ["amount"],
    "properties": {"amount": {"type": "number", "minimum": 0}, "lines": {"type": "array", "items": {"type": "string"}}},
}


def entry(detail, **overrides):
    return {"source": KIND.source, "detail-type": KIND.detail_type, "detail": detail} | overrides


@pytest.fixture
def schema():
    register_version(KIND, SCHEMA)
    return EventSchema.objects.get(**KIND.lookup())


def test_no_validating_schema_means_no_check_at_all(schema):
    assert schema_check() is None


def test_off_stores_an_event_that_breaks_the_schema(schema):
    [result] = publish_entries([entry({"amount": "ten"})])
    assert result.ok


def test_enforce_refuses_the_entry_naming_pointer_and_rule(schema):
    configure(KIND, validation="enforce")
    [result] = publish_entries([entry({"amount": -5})])
    assert result.error_code == "SchemaViolation"
    assert "at /amount" in result.error_message
    assert 'rule "minimum"' in result.error_message
    assert "schema v1 of default/test.validation/PaymentTaken" in result.error_message


def test_enforce_stores_the_rest_of_the_batch(schema):
    configure(KIND, validation="enforce")
    results = publish_entries([entry({"amount": 1}), entry({"lines": [1]}), entry({"amount": 2})])
    assert [r.ok for r in results] == [True, False, True]
    assert "at /" in results[1].error_message and 'rule "required"' in results[1].error_message
    assert Event.objects.filter(source=KIND.source).count() == 2


def test_enforce_names_the_pointer_inside_arrays(schema):
    configure(KIND, validation="enforce")
    [result] = publish_entries([entry({"amount": 1, "lines": ["a", 7]})])
    assert "at /lines/1" in result.error_message


def test_enforce_counts_refusals(schema):
    configure(KIND, validation="enforce")
    publish_entries([entry({}), entry({})])
    schema.refresh_from_db()
    assert schema.refused_count == 2


def test_warn_stores_the_event_and_records_the_violation(schema):
    configure(KIND, validation="warn")
    [result] = publish_entries([entry({"amount": "ten"})])
    assert result.ok
    violation = SchemaViolation.objects.get(event_id=result.event_id)
    assert (violation.version, violation.pointer, violation.rule) == (1, "/amount", "type")
    schema.refresh_from_db()
    assert schema.warned_count == 1


def test_warn_keeps_the_producers_event_id(schema):
    configure(KIND, validation="warn")
    [result] = publish_entries([entry({}, id="producer-id-1")])
    assert result.event_id == "producer-id-1"
    assert SchemaViolation.objects.filter(event_id="producer-id-1").exists()


def test_conforming_events_are_neither_refused_nor_flagged(schema):
    configure(KIND, validation="warn")
    publish_entries([entry({"amount": 3})])
    assert not SchemaViolation.objects.exists()


def test_other_kinds_on_the_bus_are_not_validated(schema):
    configure(KIND, validation="enforce")
    [result] = publish_entries([entry({"amount": "ten"}, **{"detail-type": "SomethingElse"})])
    assert result.ok


def test_the_latest_version_is_the_one_enforced(schema):
    configure(KIND, validation="enforce", compatibility="NONE")
    register_version(KIND, {"type": "object", "required": ["currency"]})
    [result] = publish_entries([entry({"amount": 1})])
    assert "schema v2" in result.error_message and 'rule "required"' in result.error_message


def test_enforced_schema_is_checked_on_the_native_publish_api(schema, client, auth_header):
    configure(KIND, validation="enforce")
    body = [entry({"amount": 1}), entry({"amount": -1})]
    response = client.post("/api/v1/events", json.dumps(body), content_type="application/json", **auth_header)
    answers = response.json()["entries"]
    assert "event_id" in answers[0]
    assert answers[1]["error_code"] == "SchemaViolation"


def test_draft_07_tuples_validate_without_a_schema_keyword():
    validator = compile_validator({"type": "array", "items": [{"type": "string"}], "additionalItems": False})
    assert first_violation(validator, ["a", "b"]).rule == "additionalItems"


def test_remote_references_are_never_fetched():
    with pytest.raises(InvalidSchema, match="remote references"):
        compile_validator({"$ref": "http://127.0.0.1:9/schema.json"})


def test_validators_are_compiled_once_per_version(schema, monkeypatch):
    configure(KIND, validation="enforce")
    schema_check()
    compiled = []
    monkeypatch.setattr(schema_validation, "compile_validator", lambda doc: compiled.append(doc))
    schema_validation.forget_validators()
    schema_check()
    assert compiled == []


@pytest.mark.django_db(transaction=True)
def test_enforce_applies_on_the_live_fast_path(live_daphne, bearer):
    register_version(KIND, SCHEMA)
    configure(KIND, validation="enforce")
    body = json.dumps([entry({"amount": 1}), entry({"amount": "one"})]).encode()
    request = urllib.request.Request(
        f"{live_daphne}/api/v1/events", data=body, headers={"Authorization": bearer, "Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answers = json.loads(response.read())["entries"]
    assert "event_id" in answers[0]
    assert answers[1]["error_code"] == "SchemaViolation" and "at /amount" in answers[1]["error_message"]
