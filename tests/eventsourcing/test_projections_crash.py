"""Exactly-once projection across `kill -9`: the worker is killed mid-catch-up twice, restarted,
and the read model still equals a from-scratch fold of every stream (no event applied twice or skipped)."""

import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from itertools import groupby

import pytest

from dashboard.models import Event
from dashboard.models.shop import OrderView
from dashboard.models.streams import ProjectionState
from dashboard.shop.orders import Order
from tests.conftest import ROOT
from tests.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.fault]

ORDERS = 600
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def seed_order_streams() -> int:
    """600 Order streams, a third shipped and a sixth cancelled, stored in one go; returns the last position."""
    events = []
    for n in range(ORDERS):
        order_id = f"ord-{n:05d}"
        stream = {"source": "shop.orders", "aggregate_type": "Order", "aggregate_id": order_id}
        detail = {"orderId": order_id, "customer": f"c{n % 97}", "items": [{"sku": "s", "quantity": 1, "price": n}]}
        events.append(Event(detail_type="OrderCreated", detail=detail | {"total": n}, version=1, time=T0, **stream))
        follow_up = {"detail": {"orderId": order_id}, "version": 2, "time": T0 + timedelta(seconds=n)}
        if n % 3 == 0:
            events.append(Event(detail_type="OrderShipped", **follow_up, **stream))
        elif n % 6 == 1:
            events.append(Event(detail_type="OrderCancelled", **follow_up, **stream))
    Event.objects.bulk_create(events, batch_size=1000)
    return Event.objects.order_by("-position").values_list("position", flat=True).first()


def projection_position() -> int:
    return ProjectionState.objects.filter(name="order_views").values_list("position", flat=True).first() or 0


def start_worker(env: dict) -> subprocess.Popen:
    command = [sys.executable, "manage.py", "project", "--batch", "10", "--idle", "0.05"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def folded_orders() -> dict[str, tuple]:
    events = Event.objects.filter(aggregate_type="Order").order_by("aggregate_id", "version")
    folded = {}
    for order_id, stream in groupby(events, key=lambda e: e.aggregate_id):
        order = Order(order_id)
        for event in stream:
            order.apply(event)
        folded[order_id] = (order.customer, order.status, order.total, order.version, order.shipped_at)
    return folded


def test_projection_is_exactly_once_across_kill_9(subprocess_env):
    head = seed_order_streams()
    kills = []
    for round_ in range(1, 3):
        worker = start_worker(subprocess_env)
        try:
            # Kill at a different depth each time: after some batches committed, with the next one under way.
            goal = (kills[-1] if kills else 0) + 80 * round_
            wait_until(
                lambda goal=goal: projection_position() >= goal,
                timeout=60,
                message="the worker to make progress",
                interval=0.002,  # kill soon after the goal, before the worker finishes
            )
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
        finally:
            if worker.poll() is None:
                worker.kill()
        kills.append(projection_position())
    assert kills[-1] < head, "the worker finished before the last kill; the test proves nothing"
    worker = start_worker(subprocess_env)
    try:
        wait_until(lambda: projection_position() == head, timeout=60, message="the restarted worker to catch up")
    finally:
        worker.terminate()
        worker.wait(10)
    views = {
        v.order_id: (v.customer, v.status, v.total, v.version, v.shipped_at)
        for v in OrderView.live().order_by("order_id")
    }
    assert views == folded_orders()
    assert ProjectionState.objects.get(name="order_views").events_applied == Event.objects.count()
