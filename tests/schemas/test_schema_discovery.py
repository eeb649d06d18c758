"""Schema discovery: opt-in per bus, a version per new shape, off the publish path, never over a person's schema."""

import pytest
from django.core.management import call_command

from dashboard.ingest.publishing import publish_entries
from dashboard.models import EventSchema, SchemaVersion
from dashboard.schemas import discovery as schema_discovery
from dashboard.schemas.discovery import discover_schemas, enable_discovery
from dashboard.schemas.registry import Kind, register_version

pytestmark = pytest.mark.django_db

BUS = "discovery-bus"


def publish(*details, source="test.discovery", detail_type="ItemAdded", bus=BUS):
    results = publish_entries(
        [{"source": source, "detail-type": detail_type, "bus": bus, "detail": d} for d in details]
    )
    return [r.event_id for r in results]


def versions(source="test.discovery", detail_type="ItemAdded"):
    return list(SchemaVersion.objects.filter(schema__source=source, schema__detail_type=detail_type).order_by("number"))


def test_a_bus_without_discovery_gets_no_schemas():
    publish({"sku": "a"})
    assert discover_schemas() == 0
    assert not EventSchema.objects.filter(bus=BUS).exists()


def test_first_events_give_version_1_with_a_sample():
    enable_discovery(BUS)
    [first, _] = publish({"sku": "a", "qty": 1}, {"sku": "b", "qty": 2})
    assert discover_schemas() == 1
    [v1] = versions()
    assert v1.origin == "discovered" and v1.sample_event_id == first
    assert v1.document["properties"] == {"sku": {"type": "string"}, "qty": {"type": "integer"}}
    assert EventSchema.objects.get(bus=BUS).rules == "lenient"


def test_same_shape_again_adds_no_version():
    enable_discovery(BUS)
    publish({"sku": "a"})
    discover_schemas()
    publish({"sku": "b"})
    assert discover_schemas() == 0
    assert len(versions()) == 1


def test_new_shape_gives_a_new_version_with_the_event_that_showed_it():
    enable_discovery(BUS)
    publish({"sku": "a"})
    discover_schemas()
    [_, newcomer] = publish({"sku": "b"}, {"sku": "c", "gift": True})
    assert discover_schemas() == 1
    v2 = versions()[-1]
    assert v2.number == 2 and v2.sample_event_id == newcomer
    assert v2.document["properties"]["gift"] == {"type": "boolean"}


def test_events_published_before_discovery_was_enabled_are_not_read():
    publish({"old": 1})
    enable_discovery(BUS)
    assert discover_schemas() == 0


def test_kinds_are_discovered_separately():
    enable_discovery(BUS)
    publish({"sku": "a"})
    publish({"reason": "x"}, detail_type="ItemRemoved")
    assert discover_schemas() == 2


def test_a_registered_schema_is_never_overridden():
    register_version(Kind(BUS, "test.discovery", "ItemAdded"), {"type": "object"})
    enable_discovery(BUS)
    publish({"sku": "a"})
    assert discover_schemas() == 0
    assert [v.origin for v in versions()] == ["registered"]


def test_under_load_only_the_newest_events_are_sampled(monkeypatch):
    monkeypatch.setattr(schema_discovery, "SAMPLE_SIZE", 2)
    enable_discovery(BUS)
    publish({"skipped": 1}, {"sku": "a"}, {"sku": "b"})
    discover_schemas()
    assert set(versions()[0].document["properties"]) == {"sku"}
    assert discover_schemas() == 0


@pytest.mark.django_db(transaction=True)
def test_discovery_command_runs_one_pass():
    enable_discovery(BUS)
    publish({"sku": "a"})
    call_command("discover_schemas", "--once")
    assert len(versions()) == 1
