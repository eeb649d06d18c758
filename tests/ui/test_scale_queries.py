"""Numbers the pages show on a large store, computed without reading the rows they count."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard import seeding
from dashboard.models import Event
from dashboard.ui import stats

pytestmark = pytest.mark.django_db


def test_events_since_counts_the_events_received_after_the_moment():
    now = timezone.now()
    seeding.seed_history(600, days=1, now=now)  # one event every 144 s
    assert stats.events_since(now - timedelta(minutes=30)) == 13


def test_events_since_is_zero_when_nothing_arrived_lately():
    seeding.seed_history(50, days=1, now=timezone.now() - timedelta(hours=1))
    assert stats.events_since(timezone.now() - timedelta(minutes=1)) == 0


def test_events_since_is_zero_on_an_empty_log():
    assert not Event.objects.exists()
    assert stats.events_since(timezone.now() - timedelta(minutes=1)) == 0
