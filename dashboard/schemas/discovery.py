"""Schema discovery: infer the schema of each kind of event a bus carries, as EventBridge's discoverer does.

Opt-in per bus (a ``SchemaDiscovery`` row). ``discover_schemas()`` reads the events stored since its last
pass, so it never touches the publish path; when more than ``SAMPLE_SIZE`` are waiting it reads only the
newest ones (sampling under load) and moves past the rest. For each (source, detail-type) it merges the new
events' shapes into the latest discovered version with genson, and registers a new version when the shape
changed, recording an event that showed it. Discovered schemas use lenient rules: a merged shape only ever
widens (a property added, a requirement dropped, a type extended), which lenient BACKWARD accepts. A schema
whose latest version was registered by hand is left alone: discovery never overrides a person.
"""

import logging
from collections import defaultdict

from django.db import transaction
from genson import SchemaBuilder

from dashboard.models import Event, EventSchema, SchemaDiscovery, SchemaVersion
from dashboard.schemas import InvalidSchema, SchemaTooComplex
from dashboard.schemas.loader import canonical
from dashboard.schemas.registry import IncompatibleSchema, Kind, configure, register_version

log = logging.getLogger(__name__)

SAMPLE_SIZE = 500


def enable_discovery(bus: str) -> SchemaDiscovery:
    """Start discovering on ``bus`` from its next event (what is already stored is not read)."""
    newest = Event.objects.filter(bus=bus).order_by("-position").values_list("position", flat=True).first() or 0
    discovery, created = SchemaDiscovery.objects.get_or_create(bus=bus, defaults={"position": newest})
    if not created and not discovery.enabled:
        discovery.enabled, discovery.position = True, newest
        discovery.save(update_fields=["enabled", "position", "updated_at"])
    return discovery


def discover_schemas() -> int:
    """One pass over every bus with discovery on; returns how many versions it registered."""
    return sum(discover_bus(discovery) for discovery in SchemaDiscovery.objects.filter(enabled=True))


def discover_bus(discovery: SchemaDiscovery) -> int:
    rows = list(
        Event.objects.filter(bus=discovery.bus, position__gt=discovery.position)
        .order_by("-position")
        .values_list("position", "event_id", "source", "detail_type", "detail")[:SAMPLE_SIZE]
    )
    if not rows:
        return 0
    samples: dict[tuple[str, str], list[tuple[str, dict]]] = defaultdict(list)
    for _, event_id, source, detail_type, detail in reversed(rows):
        samples[(source, detail_type)].append((event_id, detail))
    registered = sum(
        _evolve(Kind(discovery.bus, source, detail_type), kind_samples)
        for (source, detail_type), kind_samples in samples.items()
    )
    SchemaDiscovery.objects.filter(pk=discovery.pk).update(position=rows[0][0])
    return registered


def _evolve(kind: Kind, samples: list[tuple[str, dict]]) -> int:
    latest = SchemaVersion.objects.filter(schema__in=EventSchema.objects.filter(**kind.lookup())).last()
    if latest is not None and latest.origin != SchemaVersion.Origin.DISCOVERED:
        return 0
    builder = SchemaBuilder(schema_uri=None)
    shape = canonical(latest.document) if latest is not None else None
    if latest is not None:
        builder.add_schema(latest.document)
    sample_event_id = None
    for event_id, detail in samples:
        builder.add_object(detail)
        if sample_event_id is None and canonical(builder.to_schema()) != shape:
            sample_event_id = event_id  # the first event the previous version did not describe
    if sample_event_id is None:
        return 0
    try:
        with transaction.atomic():
            if latest is None:
                configure(kind, rules=EventSchema.Rules.LENIENT)
            _, created = register_version(
                kind, builder.to_schema(), origin=SchemaVersion.Origin.DISCOVERED, sample_event_id=sample_event_id
            )
    except (IncompatibleSchema, InvalidSchema, SchemaTooComplex) as error:
        log.warning("discovered shape of %s not registered: %s", kind, error)
        return 0
    return int(created)
