"""The schema registry admin: modes edited, versions registered through the compatibility check, violations listed."""

import json

import pytest
from django.contrib.auth.models import User

from dashboard.ingest.publishing import publish_entries
from dashboard.models import Event, EventSchema, SchemaDiscovery, SchemaVersion
from dashboard.schemas.registry import Kind, configure, register_version

pytestmark = pytest.mark.django_db

KIND = Kind("default", "test.admin", "ThingHappened")


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


@pytest.fixture
def schema():
    register_version(KIND, {"type": "object", "properties": {"n": {"type": "integer"}}, "additionalProperties": False})
    return EventSchema.objects.get(**KIND.lookup())


def test_registering_a_compatible_version_in_the_admin_appends_it(admin_client, schema):
    document = {"type": "object", "properties": {"n": {"type": "number"}}, "additionalProperties": False}
    response = admin_client.post(
        "/admin/dashboard/schemaversion/add/", {"schema": schema.pk, "document": json.dumps(document)}
    )
    assert response.status_code == 302
    assert SchemaVersion.objects.get(schema=schema, number=2).document == document


def test_incompatible_version_is_refused_with_its_changes(admin_client, schema):
    response = admin_client.post(
        "/admin/dashboard/schemaversion/add/", {"schema": schema.pk, "document": json.dumps({"type": "string"})}
    )
    assert response.status_code == 200
    assert "backward v1: TYPE_CHANGED #/" in response.content.decode()
    assert schema.versions.count() == 1


def test_changing_the_validation_mode_in_the_admin_applies_to_publishing(admin_client, schema):
    data = {
        "compatibility": "BACKWARD",
        "rules": "strict",
        "validation": "enforce",
        "description": "",
        "versions-TOTAL_FORMS": "1",
        "versions-INITIAL_FORMS": "1",
        "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "1000",
        "versions-0-id": schema.versions.get().pk,
        "versions-0-schema": schema.pk,
    }
    response = admin_client.post(f"/admin/dashboard/eventschema/{schema.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    [result] = publish_entries([{"source": KIND.source, "detail-type": KIND.detail_type, "detail": {"n": "x"}}])
    assert result.error_code == "SchemaViolation"


def test_violation_list_links_to_the_event(admin_client, schema):
    configure(KIND, validation="warn")
    [result] = publish_entries([{"source": KIND.source, "detail-type": KIND.detail_type, "detail": {"n": "x"}}])
    page = admin_client.get("/admin/dashboard/schemaviolation/").content.decode()
    assert f"/admin/dashboard/event/?event_id={result.event_id}" in page


def test_schema_pages_render(admin_client, schema):
    assert admin_client.get("/admin/dashboard/eventschema/").status_code == 200
    assert admin_client.get("/admin/dashboard/schemaversion/add/").status_code == 200
    assert admin_client.get("/admin/dashboard/schemaviolation/").status_code == 200
    assert admin_client.get(f"/admin/dashboard/eventschema/{schema.pk}/change/").status_code == 200
    version = schema.versions.get()
    assert admin_client.get(f"/admin/dashboard/schemaversion/{version.pk}/change/").status_code == 200


def test_enabling_discovery_in_the_admin_starts_at_the_next_event(admin_client):
    [old] = publish_entries([{"source": "test.admin", "detail-type": "Old", "bus": "admin-bus", "detail": {}}])
    response = admin_client.post("/admin/dashboard/schemadiscovery/add/", {"bus": "admin-bus", "enabled": "on"})
    assert response.status_code == 302
    discovery = SchemaDiscovery.objects.get(bus="admin-bus")
    assert discovery.enabled and discovery.position == Event.objects.get(event_id=old.event_id).position
