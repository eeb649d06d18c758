"""Dead letters in a real browser: one click redrives to a live receiver; viewers cannot redrive."""

import json

import pytest

from dashboard.models import Delivery
from tests.dashboard_support import make_operator, make_rule, make_target, make_viewer, order, publish
from tests.delivery_harness import fast_env, kill_delivery, start_worker, stop_worker
from tests.waiting import wait_until

pytestmark = pytest.mark.browser


@pytest.fixture
def dead_letter(receiver) -> Delivery:
    """A dead letter whose target is a real local receiver that now answers 200."""
    target = make_target(rule=make_rule(name="orders"), name="warehouse", url=receiver.url("/warehouse"))
    publish(order(99))
    delivery = Delivery.objects.select_related("target").get(target=target)
    kill_delivery(delivery)
    return delivery


@pytest.fixture
def worker(subprocess_env, tmp_path):
    process = start_worker(fast_env(subprocess_env), tmp_path)
    yield process
    stop_worker(process)


def test_redrive_button_delivers_to_the_receiver_and_the_row_leaves(log_in, live_daphne, dead_letter, worker, receiver):
    page = log_in(make_operator())
    page.goto(f"{live_daphne}/dead-letters/")
    page.locator("[data-live-text]", has_text="Live").wait_for()
    row = page.locator(f"#dl-{dead_letter.id}")
    row.get_by_role("button", name="Redrive").click()
    row.wait_for(state="detached", timeout=5_000)
    wait_until(lambda: dead_letter.webhook_id in receiver.ids("/warehouse"), timeout=15)
    wait_until(lambda: Delivery.objects.get(pk=dead_letter.pk).state == Delivery.State.SUCCEEDED)
    page.locator("#dlq-progress", has_text="Redrive finished").wait_for()


def test_viewer_sees_no_redrive_button_and_the_post_is_refused(log_in, live_daphne, dead_letter):
    page = log_in(make_viewer())
    page.goto(f"{live_daphne}/dead-letters/")
    page.locator(f"#dl-{dead_letter.id}").wait_for()
    assert page.get_by_role("button", name="Redrive").count() == 0
    token = json.loads(page.locator("body").get_attribute("hx-headers"))["X-CSRFToken"]
    response = page.request.post(
        f"{live_daphne}/dead-letters/redrive",
        form={"scope": "ids", "selected": str(dead_letter.id), "confirmed": "1"},
        headers={"X-CSRFToken": token, "Referer": f"{live_daphne}/dead-letters/"},
    )
    assert response.status == 403
    assert Delivery.objects.get(pk=dead_letter.pk).state == Delivery.State.DEAD
