"""Blue/green rebuilds: a shadow generation is built from position 0 while the live one serves, then swapped."""

import threading

import pytest
from django.db import connection

from dashboard.eventsourcing import projection_runner as runner
from dashboard.models.shop import OrderView
from dashboard.models.streams import ProjectionState
from dashboard.shop.orders import create_order, ship_order
from dashboard.shop.projections import OrderViews

ITEMS = [{"sku": "tea", "quantity": 1, "price": 2}]


def orders(n: int) -> list[str]:
    return [create_order(f"customer-{i}", ITEMS)[0].id for i in range(n)]


def snapshot() -> set[tuple]:
    return set(OrderView.live().values_list("order_id", "status", "version"))


@pytest.mark.django_db
def test_rebuild_swaps_in_an_equal_generation_and_drops_the_old_rows():
    ids = orders(5)
    ship_order(ids[0])
    runner.catch_up("order_views")
    before = snapshot()
    runner.rebuild("order_views", batch=2)
    state = runner.state_of("order_views")
    assert state.live_generation == 2 and state.rebuild_generation is None and state.rebuilt_at
    assert snapshot() == before
    assert set(OrderView.objects.values_list("generation", flat=True)) == {2}


@pytest.mark.django_db
def test_readers_see_the_live_generation_while_the_shadow_is_half_built():
    orders(6)
    runner.catch_up("order_views")
    before = snapshot()
    runner.start_rebuild("order_views")
    runner.rebuild_step("order_views", batch=3)
    assert OrderView.objects.filter(generation=2).count() == 3
    assert snapshot() == before


@pytest.mark.django_db
def test_events_during_a_rebuild_reach_the_new_generation_exactly_once():
    orders(3)
    runner.catch_up("order_views")
    runner.start_rebuild("order_views")
    runner.rebuild_step("order_views", batch=2)
    late = orders(2)
    ship_order(late[0])
    runner.catch_up("order_views")
    runner.rebuild("order_views", batch=2)
    runner.catch_up("order_views")
    views = {v.order_id: v for v in OrderView.live()}
    assert len(views) == 5
    assert (views[late[0]].status, views[late[0]].version) == ("shipped", 2)


@pytest.mark.django_db
def test_a_failing_rebuild_leaves_the_live_generation_serving(monkeypatch):
    ids = orders(2)
    ship_order(ids[0])
    runner.catch_up("order_views")
    before = snapshot()
    monkeypatch.setattr(OrderViews, "shipped", lambda self, event: 1 / 0)
    with pytest.raises(runner.RebuildFailed, match="ZeroDivisionError"):
        runner.rebuild("order_views", batch=10)
    assert snapshot() == before
    runner.cancel_rebuild("order_views")
    assert set(OrderView.objects.values_list("generation", flat=True)) == {1}


@pytest.mark.django_db
def test_a_rebuild_after_a_fix_unsticks_a_failed_projection(monkeypatch):
    ids = orders(2)
    ship_order(ids[1])
    monkeypatch.setattr(OrderViews, "shipped", lambda self, event: 1 / 0)
    runner.catch_up("order_views")
    assert runner.state_of("order_views").status == ProjectionState.Status.FAILED
    monkeypatch.undo()
    runner.rebuild("order_views")
    state = runner.state_of("order_views")
    assert state.status == ProjectionState.Status.RUNNING and not state.last_error
    assert OrderView.live().get(order_id=ids[1]).status == "shipped"


@pytest.mark.django_db(transaction=True)
def test_concurrent_readers_never_see_a_partial_read_model_during_a_rebuild():
    ids = orders(40)
    for order_id in ids[::3]:
        ship_order(order_id)
    runner.catch_up("order_views")
    expected = snapshot()
    stop, seen, wrong = threading.Event(), [], []

    def read_continuously() -> None:
        try:
            while not stop.is_set():
                current = snapshot()
                seen.append(len(current))
                if current != expected:
                    wrong.append(current)
        finally:
            connection.close()

    reader = threading.Thread(target=read_continuously)
    reader.start()
    try:
        for _ in range(3):
            runner.rebuild("order_views", batch=4)
    finally:
        stop.set()
        reader.join(30)
    assert runner.state_of("order_views").live_generation == 4
    assert len(seen) > 10
    assert wrong == []
