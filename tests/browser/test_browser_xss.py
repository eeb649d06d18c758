"""In a real browser, hostile payloads stay inert: nothing runs, no htmx attribute fires a request."""

import pytest

from dashboard.models import Event
from tests.dashboard_support import make_rule, make_target, make_viewer, publish
from tests.xss_corpus import PROBE_PATH, hostile_entries

pytestmark = pytest.mark.browser


@pytest.fixture
def probe_requests(page) -> list[str]:
    """Every request the page makes to the probe path, which only an injected element would call."""
    fired: list[str] = []
    page.on("request", lambda request: fired.append(request.url) if PROBE_PATH in request.url else None)
    return fired


def assert_inert(page, probe_requests) -> None:
    page.wait_for_timeout(500)  # give `load` and `revealed` triggers a chance to fire, if anything had created them
    assert page.evaluate("window.__xss") is None
    assert probe_requests == []
    assert page.locator(f'[hx-get="{PROBE_PATH}"], [hx-post="{PROBE_PATH}"], img[src=x], svg[onload]').count() == 0


def test_hostile_events_stay_inert_in_the_live_tail(log_in, live_daphne, probe_requests):
    make_target(rule=make_rule(name="everything", pattern='{"source": [{"prefix": ""}]}'))
    page = log_in(make_viewer())
    page.goto(f"{live_daphne}/events/")
    page.locator("[data-live-text]", has_text="Live").wait_for()
    publish(*hostile_entries())
    for event in Event.objects.all():
        page.locator(f"#ev-{event.position}").wait_for()
    assert "<script>" in page.locator("#tail-rows").inner_text()
    assert_inert(page, probe_requests)


def test_hostile_events_stay_inert_on_every_page_that_shows_them(log_in, live_daphne, probe_requests):
    make_target(rule=make_rule(name="everything", pattern='{"source": [{"prefix": ""}]}'))
    publish(*hostile_entries())
    page = log_in(make_viewer())
    paths = ["/", "/events/", "/rules/"]
    for event in Event.objects.all():
        paths += [f"/events/{event.position}/", f"/playground/?event={event.position}"]
    for path in paths:
        page.goto(f"{live_daphne}{path}")
        assert_inert(page, probe_requests)
    assert "<img src=x" in page.locator("#p-event").input_value()
