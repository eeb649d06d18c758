"""The demo shop's order traffic goes through the commands and leaves a read model equal to the streams."""

import pytest

from dashboard.eventsourcing import projection_runner
from dashboard.models import Event
from dashboard.models.shop import OrderView
from dashboard.shop.demo import OrderTraffic
from dashboard.shop.orders import Order

pytestmark = pytest.mark.django_db


def test_demo_orders_fold_into_order_views():
    traffic = OrderTraffic(seed=7)
    touched = {traffic.step() for _ in range(120)}
    projection_runner.catch_up("order_views")
    views = {v.order_id: v for v in OrderView.live()}
    assert set(views) == touched
    for order_id, view in views.items():
        order = Order.load(order_id)
        assert (view.status, view.total, view.version) == (order.status, order.total, order.version)
    kinds = set(Event.objects.values_list("detail_type", flat=True))
    assert {"OrderCreated", "OrderShipped", "OrderCancelled"} <= kinds
