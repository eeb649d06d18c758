"""Browser tests without Chromium: CI fails them, unless .ci/run could not install it and said why; a
developer's machine skips them with the way to get it."""

import pytest

from tests.browser import conftest as browser_conftest


@pytest.fixture
def no_chromium(monkeypatch):
    monkeypatch.setattr(browser_conftest, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("EVENTHUB_BROWSER_UNAVAILABLE", raising=False)
    return monkeypatch


def test_ci_skips_browser_tests_with_the_reason_ci_run_exported(no_chromium):
    no_chromium.setenv("CI", "true")
    no_chromium.setenv("EVENTHUB_BROWSER_UNAVAILABLE", "apt-get install chromium failed twice")
    assert browser_conftest.chromium_missing() == (
        True,
        "Chromium could not be installed: apt-get install chromium failed twice",
    )


def test_ci_fails_browser_tests_when_chromium_is_missing_without_a_reason(no_chromium):
    no_chromium.setenv("CI", "true")
    skip, reason = browser_conftest.chromium_missing()
    assert not skip
    assert "is missing" in reason


def test_a_developer_machine_skips_browser_tests_and_says_how_to_get_chromium(no_chromium):
    assert browser_conftest.chromium_missing() == (
        True,
        "/nonexistent/chromium is missing: apt-get install chromium (.ci/run does)",
    )
