"""`manage.py seed_history`: a realistic history for scale tests, on PostgreSQL (COPY) and SQLite."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from dashboard import seeding
from dashboard.ingest.publishing import publish_entries
from dashboard.models import Delivery, DeliveryAttempt, Event
from dashboard.models.streams import ProjectionState

pytestmark = pytest.mark.django_db


def test_seeded_events_span_several_buses_sources_and_detail_types():
    seeding.seed_history(2_000, days=2)
    assert Event.objects.count() == 2_000
    assert Event.objects.values("bus").distinct().count() == 4
    assert Event.objects.values("source").distinct().count() >= 8
    assert Event.objects.values("detail_type").distinct().count() >= 15


def test_seeded_events_are_spread_over_the_days_asked_and_end_now():
    now = timezone.now()
    seeding.seed_history(500, days=3, now=now)
    oldest, newest = Event.objects.order_by("position")[0], Event.objects.order_by("-position")[0]
    assert now - timedelta(days=3) < oldest.received_at < now - timedelta(days=2, hours=23)
    assert newest.received_at == now


def test_seeded_deliveries_are_in_every_state_with_dead_letters_and_their_errors():
    seeding.seed_history(20_000, days=1)
    states = set(Delivery.objects.values_list("state", flat=True).distinct())
    assert states == {s.value for s in Delivery.State}
    dead = Delivery.objects.filter(state=Delivery.State.DEAD, dead_lettered=True)
    assert dead.exclude(last_error="").exclude(dead_reason="").exists()
    assert DeliveryAttempt.objects.filter(delivery__in=dead, succeeded=False).exists()


def test_seeded_streams_have_consecutive_versions_and_projections_are_caught_up():
    seeding.seed_history(2_000, days=1)
    streams = Event.objects.filter(aggregate_type="Order").values("aggregate_id").annotate(n=Count("position"))
    assert streams
    assert {row["n"] for row in streams} <= {1, 2}
    assert not Event.objects.filter(aggregate_type="Order", version=2).exclude(
        aggregate_id__in=Event.objects.filter(aggregate_type="Order", version=1).values("aggregate_id")
    )
    top = Event.objects.order_by("-position")[0].position
    assert set(ProjectionState.objects.values_list("name", "position")) == {("order_views", top), ("sku_sales", top)}


def test_delivery_ids_carry_their_creation_time_as_the_overview_expects():
    seeding.seed_history(1_000, days=1)
    delivery = Delivery.objects.order_by("-created_at")[0]
    assert delivery.id.hex[:12] == f"{int(delivery.created_at.timestamp() * 1000):012x}"


def test_seeding_twice_appends_and_publishing_continues_after_the_seeded_positions():
    seeding.seed_history(300, days=1)
    seeding.seed_history(300, days=1, seed=2)
    assert Event.objects.count() == 600
    publish_entries([{"source": "after.seed", "detail-type": "Ping", "detail": {}}])
    assert Event.objects.get(source="after.seed").position == 601


def test_command_reports_its_rate():
    out = StringIO()
    call_command("seed_history", "--events", "200", "--days", "1", stdout=out, stderr=StringIO())
    assert "200 events" in out.getvalue() and "events/s" in out.getvalue()
