"""The Schemas list in a real browser: live over its WebSocket, a schema registered elsewhere shows up."""

import pytest

from dashboard.schemas.registry import Kind, register_version
from tests.dashboard_support import make_viewer

pytestmark = pytest.mark.browser

KIND = Kind("default", "test.browser.live", "ParcelWeighed")


def test_a_schema_registered_elsewhere_appears_without_reloading(log_in, live_daphne, transactional_db):
    page = log_in(make_viewer())
    page.goto(f"{live_daphne}/schemas/")
    page.locator("#schemas [data-live-text]", has_text="Live").wait_for()
    page.locator("#schema-rows", has_text="No schemas yet.").wait_for()
    register_version(KIND, {"type": "object", "properties": {"weight": {"type": "number"}}})
    page.get_by_role("link", name="test.browser.live · ParcelWeighed").wait_for(timeout=10_000)
