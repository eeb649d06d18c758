"""The global log's safe high-water mark: readers never pass a position that may still commit.

On PostgreSQL a transaction that drew position p can commit after one that drew p+1; these tests hold
such a transaction open on another connection and check that readers wait for it instead of skipping it.
"""

import threading
from contextlib import contextmanager

import pytest
from django.db import connection, transaction

from dashboard.eventsourcing import projection_runner as runner
from dashboard.eventsourcing.global_log import last_position
from dashboard.eventsourcing.streams import read_all
from dashboard.ingest.publishing import EventDraft, store_events
from dashboard.models import Event
from dashboard.models.shop import OrderView
from dashboard.shop.orders import create_order

pytestmark = pytest.mark.django_db(transaction=True)
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite serializes writers, so commits follow position order"
)


class _Rollback(Exception):
    pass


@contextmanager
def held_open(write, *, commit: bool = True):
    """Run `write` in a transaction on another connection and keep it open until the block ends."""
    written, release, drawn = threading.Event(), threading.Event(), []

    def hold() -> None:
        try:
            with transaction.atomic():
                drawn.append(write())
                written.set()
                release.wait(30)
                if not commit:
                    raise _Rollback
        except _Rollback:
            pass
        finally:
            written.set()
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert written.wait(30)
    try:
        yield drawn
    finally:
        release.set()
        thread.join(30)


def publish(n: int = 1) -> list[int]:
    ids = store_events([EventDraft(source="s", detail_type="t", detail={"n": i}) for i in range(n)])
    return list(Event.objects.filter(event_id__in=ids).order_by("position").values_list("position", flat=True))


@postgres_only
def test_reader_stops_before_a_position_still_in_flight():
    start = last_position()
    with held_open(lambda: publish()[0]) as drawn:
        later = publish()[0]
        assert later > drawn[0]
        page = read_all(start, wait=0.2)
        assert page.events == [] and page.next_after == start
    page = read_all(start, wait=5)
    assert [e.position for e in page.events] == [drawn[0], later]


@postgres_only
def test_reader_passes_a_gap_once_its_transaction_rolled_back():
    start = last_position()
    with held_open(lambda: publish()[0], commit=False):
        later = publish()[0]
    page = read_all(start, wait=5)
    assert [e.position for e in page.events] == [later]
    assert page.next_after == later


@postgres_only
def test_projection_does_not_skip_an_order_committed_late(settings):
    settings.EVENTHUB = settings.EVENTHUB | {"LOG_GAP_WAIT_SECONDS": 0.2}
    with held_open(lambda: create_order("late", [{"sku": "a", "quantity": 1, "price": 1}])[0].id) as drawn:
        early, _ = create_order("early", [{"sku": "b", "quantity": 1, "price": 1}])
        runner.catch_up("order_views")
        assert list(OrderView.live().values_list("order_id", flat=True)) == []
    runner.catch_up("order_views")
    assert set(OrderView.live().values_list("order_id", flat=True)) == {drawn[0], early.id}


def test_gap_left_by_a_purged_event_is_passed_at_once():
    positions = publish(5)
    Event.objects.filter(position=positions[2]).delete()
    page = read_all(positions[0], wait=0)
    assert [e.position for e in page.events] == [positions[1], positions[3], positions[4]]


def test_filtered_reader_resumes_past_events_it_left_out():
    positions = publish(3)
    page = read_all(positions[0] - 1, detail_types=["nothing-matches"])
    assert page.events == [] and page.next_after == positions[-1]
