"""The event stream in a real browser: live tail over the WebSocket, and the operator's pattern filter."""

import json
from urllib.parse import urlencode

import pytest

from dashboard.models import Event
from tests.dashboard_support import make_viewer, order, publish
from tests.waiting import wait_until

pytestmark = pytest.mark.browser


def test_login_form_signs_a_viewer_in(log_in):
    page = log_in(make_viewer())
    assert page.locator("h1").inner_text() == "Overview"
    assert page.locator(".whoami").inner_text().startswith("viewer")


def test_wrong_password_is_refused(page, live_daphne):
    make_viewer()
    page.goto(f"{live_daphne}/accounts/login/")
    page.fill("#id_username", "viewer")
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit]")
    assert page.locator("[role=alert]").is_visible()


def test_new_event_appears_in_the_live_tail_within_two_seconds(log_in, live_daphne):
    page = log_in(make_viewer())
    page.goto(f"{live_daphne}/events/")
    page.locator("[data-live-text]", has_text="Live").wait_for()
    publish(order(42))
    position = Event.objects.get().position
    page.locator(f"#ev-{position}").wait_for(timeout=2_000)
    assert "OrderCreated" in page.locator(f"#ev-{position}").inner_text()


def test_pattern_filter_hides_non_matching_events(log_in, live_daphne):
    page = log_in(make_viewer())
    pattern = json.dumps({"detail": {"total": [{"numeric": [">=", 1000]}]}})
    page.goto(f"{live_daphne}/events/?{urlencode({'pattern': pattern})}")
    page.locator("[data-live-text]", has_text="Live").wait_for()
    publish(order(5), order(5000))
    big, small = (Event.objects.get(detail__total=total).position for total in (5000, 5))
    page.locator(f"#ev-{big}").wait_for(timeout=2_000)
    assert page.locator(f"#ev-{small}").count() == 0


def test_paused_tail_holds_still_and_resume_shows_what_arrived(log_in, live_daphne):
    page = log_in(make_viewer())
    page.goto(f"{live_daphne}/events/")
    page.locator("[data-live-text]", has_text="Live").wait_for()
    page.get_by_role("button", name="Pause").click()
    page.locator("#tail-controls[data-paused]").wait_for()
    publish(order(7))
    position = Event.objects.get().position
    page.locator("[data-missed='1']").wait_for()
    assert page.locator(f"#ev-{position}").count() == 0
    page.get_by_role("button", name="Resume").click()
    page.locator(f"#ev-{position}").wait_for()


def test_older_events_load_below_with_the_cursor(log_in, live_daphne):
    publish(*[order(n) for n in range(60)])
    page = log_in(make_viewer())
    page.goto(f"{live_daphne}/events/")
    assert page.locator("#tail-rows tr").count() == 50
    page.get_by_role("button", name="Older events").click()
    wait_until(lambda: page.locator("#tail-rows tr").count() == 60)
    assert page.get_by_text("Start of the log").is_visible()
