"""The rule admin's pattern preview in a real browser: test against an event, backtest, payloads as text, and
no error before the operator has typed anything."""

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from dashboard.models import Rule
from tests.delivery_harness import publish

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_rule_form_previews_a_pattern_in_the_browser(page: Page, live_daphne: str):
    User.objects.create_superuser("root", "root@example.com", "pw")
    publish(2, lane="x")
    page.goto(f"{live_daphne}/admin/login/?next=/admin/dashboard/rule/add/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.fill("#id_event_pattern", '{"detail": {"total": [{"numeric": [">", 100]}]}}')
    page.fill("#eh-test-event", '{"source": "shop.orders", "detail": {"total": "<img src=x onerror=alert(1)>"}}')
    page.click("#eh-test-button")
    expect(page.locator("#eh-pattern-status")).to_have_text("No match.")
    expect(page.locator("#eh-trace td").filter(has_text="<img src=x")).to_have_count(1)  # shown as text
    expect(page.locator("#eh-backtest")).to_contain_text("Of the last 2 stored events, this pattern matches 0")
    page.fill("#id_event_pattern", '{"source": "shop.orders"}')
    expect(page.locator("#eh-pattern-status")).to_contain_text("Invalid pattern at source")


def _sign_in_to(page: Page, live_daphne: str, path: str) -> None:
    User.objects.create_superuser("root", "root@example.com", "pw")
    page.goto(f"{live_daphne}/admin/login/?next={path}")
    page.fill("#id_username", "root")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_daphne}{path}")


def test_add_rule_page_shows_no_pattern_error_until_the_operator_types(page: Page, live_daphne: str):
    _sign_in_to(page, live_daphne, "/admin/dashboard/rule/add/")
    page.wait_for_load_state("networkidle")  # any preview request the page makes on load has been answered
    status = page.locator("#eh-pattern-status")
    expect(status).to_have_text("")
    expect(page.locator("#eh-pattern-preview .errornote")).to_have_count(0)
    page.fill("#id_event_pattern", '{"source": ')
    expect(status).to_contain_text("Invalid pattern")
    page.fill("#id_event_pattern", "")
    expect(status).to_have_text("")
    expect(page.locator("#eh-backtest")).to_have_text("")


def test_change_page_checks_the_saved_pattern_at_once(page: Page, live_daphne: str):
    rule = Rule.objects.create(name="orders", event_pattern='{"source": ["shop.orders"]}')
    publish(2, lane="x")
    _sign_in_to(page, live_daphne, f"/admin/dashboard/rule/{rule.pk}/change/")
    expect(page.locator("#eh-pattern-status")).to_have_text("The pattern is valid.")
    expect(page.locator("#eh-backtest")).to_contain_text("Of the last 2 stored events, this pattern matches 2")
