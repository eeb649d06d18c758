"""Fixtures for tests that drive Debian's Chromium through Playwright against a live Daphne."""

import os
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.dashboard_support import PASSWORD

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still plain
# synchronous code, so Django's "async context" guard does not apply to them.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_missing() -> tuple[bool, str]:
    """(skip rather than fail, why the browser tests cannot run), or (False, "") when they can.

    CI must run them, unless .ci/run could not install Chromium (a mirror hiccup must not block the rest)
    and said why in EVENTHUB_BROWSER_UNAVAILABLE; a developer's machine without it is told how to get it.
    """
    if os.path.exists(CHROMIUM):
        return False, ""
    if unavailable := os.environ.get("EVENTHUB_BROWSER_UNAVAILABLE"):
        return True, f"Chromium could not be installed: {unavailable}"
    return not os.environ.get("CI"), f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"


# Per test, not per session: Playwright's sync API keeps an event loop running in the main thread while
# it is started, and async tests that pytest runs later (pytest-django moves db-less tests last) need it free.
@pytest.fixture
def browser() -> Iterator[Browser]:
    skip, reason = chromium_missing()
    if reason:
        if not skip:
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def log_in(page: Page, live_daphne: str) -> Callable[[object], Page]:
    """Sign a user in through the real login form; returns the page, now on the overview."""

    def sign_in(user) -> Page:
        page.goto(f"{live_daphne}/accounts/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_daphne}/")
        return page

    return sign_in
