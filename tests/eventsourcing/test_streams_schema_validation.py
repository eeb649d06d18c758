"""Stream appends are validated against schemas as publishing is: enforce refuses the append, warn records."""

import json

import pytest

from dashboard.eventsourcing.streams import StreamName, append
from dashboard.ingest.publishing import EventDraft
from dashboard.models import Event, EventSchema, SchemaViolation
from dashboard.schemas.registry import Kind, configure, register_version
from dashboard.schemas.validation import EntryBreaksSchema

pytestmark = pytest.mark.django_db

KIND = Kind("default", "Account", "Deposited")
SCHEMA = {"type": "object", "required": ["amount"], "properties": {"amount": {"type": "number", "minimum": 0}}}
URL = "/api/v1/streams/Account/a-1/events"


@pytest.fixture
def schema():
    register_version(KIND, SCHEMA)
    return EventSchema.objects.get(**KIND.lookup())


def post(client, auth_header, *details):
    events = [{"detail-type": "Deposited", "detail": detail} for detail in details]
    body = json.dumps({"expected_version": "any", "events": events})
    return client.post(URL, body, content_type="application/json", **auth_header)


def test_enforce_refuses_the_append_with_a_400_naming_event_and_pointer(schema, client, auth_header):
    configure(KIND, validation="enforce")
    response = post(client, auth_header, {"amount": 5}, {"amount": -1})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "SchemaViolation"
    assert error["message"].startswith("events[1]: ") and "at /amount" in error["message"]
    assert '"minimum"' in error["message"]


def test_an_enforce_refusal_stores_nothing_and_is_counted(schema, client, auth_header):
    configure(KIND, validation="enforce")
    post(client, auth_header, {"amount": 5}, {"amount": -1})
    assert not Event.objects.filter(aggregate_type="Account").exists()
    schema.refresh_from_db()
    assert (schema.refused_count, schema.warned_count) == (1, 0)
    assert not SchemaViolation.objects.exists()


def test_enforce_accepts_an_append_that_conforms(schema, client, auth_header):
    configure(KIND, validation="enforce")
    assert post(client, auth_header, {"amount": 5}).status_code == 200


def test_warn_stores_the_append_and_records_the_violation(schema, client, auth_header):
    configure(KIND, validation="warn")
    response = post(client, auth_header, {"amount": "ten"})
    assert response.status_code == 200
    [violation] = SchemaViolation.objects.all()
    assert violation.event_id == response.json()["events"][0]["id"]
    assert (violation.pointer, violation.rule) == ("/amount", "type")
    schema.refresh_from_db()
    assert schema.warned_count == 1


def test_appends_from_code_are_validated_too(schema):
    configure(KIND, validation="enforce")
    draft = EventDraft(source="Account", detail_type="Deposited", detail={})
    with pytest.raises(EntryBreaksSchema, match='rule "required"'):
        append(StreamName("Account", "a-2"), [draft])


def test_a_retried_append_records_its_violation_once(schema):
    configure(KIND, validation="warn")
    draft = EventDraft(source="Account", detail_type="Deposited", detail={"amount": "ten"}, event_id="retry-1")
    first = append(StreamName("Account", "a-3"), [draft])
    assert append(StreamName("Account", "a-3"), [draft]) == first
    assert SchemaViolation.objects.filter(event_id="retry-1").count() == 1
