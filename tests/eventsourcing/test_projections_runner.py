"""Projections kept from their checkpoints: application, failures, lag (in process, one connection)."""

from decimal import Decimal

import pytest
from django.utils import timezone

from dashboard.eventsourcing import projection_runner as runner
from dashboard.eventsourcing.projections import registered
from dashboard.models import Event
from dashboard.models.shop import OrderView, SkuSales
from dashboard.models.streams import ProjectionState
from dashboard.shop.orders import Order, cancel_order, create_order, ship_order
from dashboard.shop.projections import OrderViews

pytestmark = pytest.mark.django_db

ITEMS = [{"sku": "tea", "quantity": 2, "price": 3.5}, {"sku": "cup", "quantity": 1, "price": 12}]


def order(customer: str = "ada", items=ITEMS) -> str:
    created, _ = create_order(customer, items)
    return created.id


def test_both_shop_projections_are_registered():
    assert {"order_views", "sku_sales"} <= set(registered())


def test_catch_up_writes_the_read_model():
    shipped, cancelled = order("ada"), order("bob")
    ship_order(shipped)
    cancel_order(cancelled, "changed my mind")
    runner.catch_up("order_views")
    views = {v.order_id: v for v in OrderView.live()}
    assert views[shipped].status == "shipped" and views[shipped].shipped_at is not None
    assert views[cancelled].status == "cancelled"
    assert views[shipped].total == Decimal("19.00")
    assert views[shipped].items == ITEMS
    assert runner.state_of("order_views").position == Event.objects.order_by("-position").first().position


def test_read_model_equals_the_fold_of_each_stream():
    ids = [order(f"c{n}") for n in range(4)]
    ship_order(ids[0])
    cancel_order(ids[1])
    runner.catch_up("order_views", batch=3)
    for order_id in ids:
        folded, view = Order.load(order_id), OrderView.live().get(order_id=order_id)
        assert (view.customer, view.status, view.total, view.version) == (
            folded.customer,
            folded.status,
            folded.total,
            folded.version,
        )


def test_checkpoint_moves_past_events_the_projection_ignores():
    Event.objects.create(source="other", detail_type="Unrelated", time=timezone.now())
    runner.catch_up("order_views")
    assert runner.state_of("order_views").position == Event.objects.get().position
    assert OrderView.live().count() == 0


def test_a_failing_event_stops_the_projection_just_below_it(monkeypatch):
    first, second = order(), order()
    ship_order(second)

    def broken(self, event):
        raise RuntimeError("warehouse view exploded")

    monkeypatch.setattr(OrderViews, "shipped", broken)
    runner.catch_up("order_views")
    state = runner.state_of("order_views")
    failing = Event.objects.get(detail_type="OrderShipped")
    assert state.status == ProjectionState.Status.FAILED
    assert (state.error_position, state.error_event_id) == (failing.position, failing.event_id)
    assert state.position == failing.position - 1
    assert "warehouse view exploded" in state.last_error
    assert set(OrderView.live().values_list("order_id", flat=True)) == {first, second}


def test_a_stopped_projection_does_not_move_until_retried(monkeypatch):
    order_id = order()
    ship_order(order_id)
    monkeypatch.setattr(OrderViews, "shipped", lambda self, event: 1 / 0)
    runner.catch_up("order_views")
    order()
    assert runner.run_step("order_views") == 0
    monkeypatch.undo()
    runner.retry("order_views")
    runner.catch_up("order_views")
    assert runner.state_of("order_views").status == ProjectionState.Status.RUNNING
    assert OrderView.live().get(order_id=order_id).status == "shipped"
    assert OrderView.live().count() == 2


def test_skipping_the_failing_event_moves_past_it_only(monkeypatch):
    order_id = order()
    ship_order(order_id)
    monkeypatch.setattr(OrderViews, "shipped", lambda self, event: 1 / 0)
    runner.catch_up("order_views")
    later = order()
    assert runner.skip_failed_event("order_views")
    runner.catch_up("order_views")
    assert OrderView.live().get(order_id=order_id).status == "created"
    assert OrderView.live().filter(order_id=later).exists()


def test_one_failing_projection_leaves_the_others_running(monkeypatch):
    order_id = order()
    ship_order(order_id)
    monkeypatch.setattr(OrderViews, "shipped", lambda self, event: 1 / 0)
    runner.catch_up("order_views")
    runner.catch_up("sku_sales")
    assert runner.state_of("order_views").status == ProjectionState.Status.FAILED
    assert runner.state_of("sku_sales").position == Event.objects.order_by("-position").first().position
    assert dict(SkuSales.live().values_list("sku", "quantity")) == {"tea": 2, "cup": 1}


def test_lag_counts_unapplied_events_and_the_wait_of_the_oldest():
    order()
    order()
    state = runner.state_of("order_views")
    behind = runner.lag(state)
    assert behind.events == 2 and behind.seconds >= 0
    runner.catch_up("order_views")
    assert runner.lag(runner.state_of("order_views")).events == 0


def test_a_write_failing_at_the_end_of_a_batch_is_traced_to_its_event():
    good = order()
    stream = {"source": "shop.orders", "aggregate_type": "Order", "aggregate_id": "ord-bad", "version": 1}
    bad = Event.objects.create(
        detail_type="OrderCreated", detail={"customer": None, "items": [], "total": 1}, time=timezone.now(), **stream
    )
    order()
    runner.catch_up("order_views")
    state = runner.state_of("order_views")
    assert (state.status, state.error_event_id, state.position) == ("failed", bad.event_id, bad.position - 1)
    assert list(OrderView.live().values_list("order_id", flat=True)) == [good]
