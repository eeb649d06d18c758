"""The stream, projections and replays pages in a real browser, live over their WebSockets."""

import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard.eventsourcing import projection_runner
from dashboard.eventsourcing.replay import run_due_replays
from dashboard.models import Event
from dashboard.models.streams import ProjectionState, Replay
from dashboard.shop.orders import create_order, ship_new_order, ship_order
from tests.conftest import ROOT
from tests.dashboard_support import make_operator, make_rule, make_target, make_viewer, publish
from tests.waiting import wait_until

pytestmark = pytest.mark.browser

ITEMS = [{"sku": "tea", "quantity": 2, "price": 3}]


@pytest.fixture
def project_worker(subprocess_env):
    """A real `manage.py project` (the event-store worker) against the test database."""
    command = [sys.executable, "manage.py", "project", "--idle", "0.05"]
    process = subprocess.Popen(command, cwd=ROOT, env=subprocess_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    yield process
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def test_stream_page_shows_the_timeline_and_new_events_live(log_in, live_daphne):
    order, result = create_order("ada", ITEMS)
    page = log_in(make_viewer())
    page.goto(f"{live_daphne}/streams/Order/{order.id}/")
    page.locator("[data-live-text]", has_text="Live").wait_for()
    assert "OrderCreated" in page.locator("#v-1").inner_text()
    ship_new_order(Event.objects.get(event_id=result.event_ids[0]).envelope())
    shipped = page.locator("#v-2")
    shipped.wait_for(timeout=3_000)
    assert f"OrderCreated #{result.positions[0]}" in shipped.locator("[data-caused-by]").inner_text()
    shipped.locator("summary").click()
    assert '"status": "shipped"' in shipped.locator("[data-state]").inner_text()
    assert page.locator("#stream-version").inner_text() == "2"


def test_rebuild_button_swaps_in_a_new_generation_while_the_page_watches(log_in, live_daphne, project_worker):
    for n in range(5):
        create_order(f"customer-{n}", ITEMS)
    head = Event.objects.order_by("-position").first().position
    page = log_in(make_operator())
    page.goto(f"{live_daphne}/projections/")
    page.locator("[data-live-text]", has_text="Live").wait_for()
    row = page.locator("#projection-order_views")
    wait_until(lambda: row.locator("[data-position]").inner_text() == str(head), timeout=15)
    assert row.locator("[data-lag-events]").inner_text() == "0"
    row.get_by_role("button", name="Rebuild").click()
    wait_until(lambda: ProjectionState.objects.get(name="order_views").live_generation == 2, timeout=15)
    wait_until(lambda: row.locator("td").nth(2).inner_text() == "2", timeout=5)
    assert page.locator("#projection-order_views-rebuild").count() == 0


def test_a_stopped_projection_shows_its_error_and_can_skip_the_event(log_in, live_daphne):
    bad = Event.objects.create(
        source="shop.orders",
        detail_type="OrderShipped",
        aggregate_type="Order",
        aggregate_id="ord-missing",
        version=1,
        detail={"orderId": "ord-missing"},
        time=timezone.now(),
    )
    projection_runner.catch_up("order_views")
    page = log_in(make_operator())
    page.goto(f"{live_daphne}/projections/")
    error = page.locator("#projection-order_views-error")
    assert "ord-missing" in error.locator("[data-error]").inner_text()
    page.on("dialog", lambda dialog: dialog.accept())
    error.get_by_role("button", name="Skip this event").click()
    page.locator('#projection-order_views[data-status="running"]').wait_for()
    assert ProjectionState.objects.get(name="order_views").position == bad.position


def _fill_replay(page, name: str, rate: str = "1000") -> None:
    start = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    end = (timezone.now() + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S")
    page.fill("#r-name", name)
    page.fill("#r-start", start)
    page.fill("#r-end", end)
    page.fill("#r-rate", rate)
    page.fill("#r-pattern", '{"detail-type": ["OrderShipped"]}')


def test_replay_is_confirmed_with_its_count_then_runs_to_completion_live(log_in, live_daphne):
    make_target(rule=make_rule())
    publish(*[{"source": "shop.orders", "detail-type": kind, "detail": {}} for kind in ["OrderShipped"] * 3 + ["X"]])
    page = log_in(make_operator())
    page.goto(f"{live_daphne}/replays/")
    page.locator("[data-live-text]", has_text="Live").wait_for()
    _fill_replay(page, "resend")
    page.get_by_role("button", name="Preview").click()
    assert page.locator("[data-confirm-events]").inner_text() == "3"
    assert not Replay.objects.exists()
    page.get_by_role("button", name="Start replay: send 3 events").click()
    row = page.locator("#replay-resend")
    row.wait_for()
    page.locator("[data-live-text]", has_text="Live").wait_for()
    wait_until(lambda: run_due_replays() == 0 and not Replay.objects.get().is_active)
    page.locator('#replay-resend[data-state="completed"]').wait_for(timeout=5_000)
    assert row.locator("[data-replayed]").inner_text() == "3"


def test_a_running_replay_can_be_cancelled(log_in, live_daphne):
    for _ in range(3):
        order, _ = create_order("ada", ITEMS)
        ship_order(order.id)
    page = log_in(make_operator())
    page.goto(f"{live_daphne}/replays/")
    _fill_replay(page, "slow", rate="0.5")
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("button", name="Start replay").click()
    run_due_replays()
    row = page.locator("#replay-slow")
    row.get_by_role("button", name="Cancel").click()
    page.locator('#replay-slow[data-state="cancelled"]').wait_for()
    assert Replay.objects.get().state == Replay.State.CANCELLED
