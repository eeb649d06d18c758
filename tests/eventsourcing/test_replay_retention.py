"""Retention per bus (default: forever) and archives that keep events longer."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard.eventsourcing.retention import purge_expired_events
from dashboard.eventsourcing.streams import StreamName, append
from dashboard.ingest.publishing import EventDraft
from dashboard.models import Delivery, Event
from dashboard.models.streams import Archive, BusRetention
from tests.dashboard_support import make_rule, make_target, publish

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def aged(days: float, bus: str = "default", detail_type: str = "Tick") -> Event:
    event = Event.objects.create(source="s", detail_type=detail_type, bus=bus, time=NOW, detail={})
    Event.objects.filter(pk=event.pk).update(received_at=NOW - timedelta(days=days))
    return event


def left() -> set[int]:
    return set(Event.objects.values_list("position", flat=True))


def test_a_bus_without_retention_keeps_everything():
    old = aged(4000)
    assert purge_expired_events(NOW) == 0
    assert left() == {old.position}


def test_events_older_than_the_retention_are_purged():
    BusRetention.objects.create(bus="default", retention_days=7)
    old, recent, elsewhere = aged(8), aged(6), aged(30, bus="other")
    assert purge_expired_events(NOW) == 1
    assert left() == {recent.position, elsewhere.position}
    assert old.position not in left()


def test_an_archive_keeps_what_it_matches_for_its_own_retention():
    BusRetention.objects.create(bus="default", retention_days=1)
    Archive.objects.create(name="shipments", event_pattern='{"detail-type": ["Shipped"]}', retention_days=30)
    kept, too_old, unmatched = aged(10, detail_type="Shipped"), aged(40, detail_type="Shipped"), aged(10)
    purge_expired_events(NOW)
    assert left() == {kept.position}
    assert {too_old.position, unmatched.position}.isdisjoint(left())


def test_stream_events_are_never_purged():
    BusRetention.objects.create(bus="default", retention_days=1)
    result = append(StreamName("Order", "o-1"), [EventDraft(source="shop", detail_type="OrderCreated", detail={})])
    Event.objects.update(received_at=NOW - timedelta(days=100))
    purge_expired_events(NOW)
    assert left() == set(result.positions)


def test_an_event_with_a_delivery_under_way_is_kept_and_finished_ones_go_with_their_event():
    BusRetention.objects.create(bus="default", retention_days=1)
    make_target(rule=make_rule(pattern='{"source": ["shop.orders"]}'))
    busy, done = publish(*[{"source": "shop.orders", "detail-type": "T", "detail": {}}] * 2)
    Delivery.objects.filter(event__event_id=done).update(state=Delivery.State.SUCCEEDED)
    Event.objects.update(received_at=NOW - timedelta(days=3))
    assert purge_expired_events(NOW) == 1
    assert list(Event.objects.values_list("event_id", flat=True)) == [busy]
    assert Delivery.objects.count() == 1
