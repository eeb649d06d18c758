"""`manage.py project` (the event-store worker) and `manage.py rebuild_projection`."""

import pytest
from django.core.management import CommandError, call_command

from dashboard.eventsourcing import projection_runner as runner
from dashboard.models.shop import OrderView, SkuSales
from dashboard.models.streams import ProjectionState
from dashboard.shop.orders import create_order, ship_order
from dashboard.shop.projections import OrderViews

# transaction=True: the worker closes its connection between rounds, as a long-running process should.
pytestmark = pytest.mark.django_db(transaction=True)

ITEMS = [{"sku": "tea", "quantity": 2, "price": 1}]


def test_worker_catches_up_every_projection():
    order, _ = create_order("ada", ITEMS)
    call_command("project", "--once")
    assert OrderView.live().get().order_id == order.id
    assert SkuSales.live().get().quantity == 2


def test_worker_keeps_the_others_running_when_one_projection_fails(monkeypatch):
    order, _ = create_order("ada", ITEMS)
    ship_order(order.id)
    monkeypatch.setattr(OrderViews, "shipped", lambda self, event: 1 / 0)
    call_command("project", "--once")
    assert runner.state_of("order_views").status == ProjectionState.Status.FAILED
    assert SkuSales.live().get().quantity == 2


def test_worker_runs_a_rebuild_asked_for_on_the_dashboard():
    create_order("ada", ITEMS)
    call_command("project", "--once")
    runner.request_rebuild("order_views")
    call_command("project", "--once")
    state = runner.state_of("order_views")
    assert (state.live_generation, state.rebuild_generation, state.rebuild_requested_at) == (2, None, None)
    assert OrderView.live().count() == 1


def test_a_restarted_worker_retries_a_stopped_projection(monkeypatch):
    order, _ = create_order("ada", ITEMS)
    ship_order(order.id)
    monkeypatch.setattr(OrderViews, "shipped", lambda self, event: 1 / 0)
    call_command("project", "--once")
    monkeypatch.undo()
    call_command("project", "--once")
    assert OrderView.live().get().status == "shipped"


def test_rebuild_projection_command_swaps_in_a_new_generation(capsys):
    create_order("ada", ITEMS)
    call_command("rebuild_projection", "order_views", "--batch", "1")
    assert "generation 2 is live" in capsys.readouterr().out
    assert OrderView.live().count() == 1


def test_rebuild_projection_command_refuses_an_unknown_name():
    with pytest.raises(CommandError, match="no projection named"):
        call_command("rebuild_projection", "nothing")
