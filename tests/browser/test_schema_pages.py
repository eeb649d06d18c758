"""The Schemas pages in a real browser: the registry list, the version diff, violations arriving live."""

import pytest

from dashboard.ingest.publishing import publish_entries
from dashboard.models import EventSchema
from dashboard.schemas.registry import Kind, configure, register_version
from tests.dashboard_support import make_viewer

pytestmark = pytest.mark.browser

KIND = Kind("default", "test.browser", "ParcelSent")


@pytest.fixture
def schema(transactional_db):
    configure(KIND, compatibility="NONE", validation="warn")
    register_version(KIND, {"type": "object", "properties": {"weight": {"type": "number", "maximum": 30}}})
    register_version(KIND, {"type": "object", "properties": {"weight": {"type": "integer", "maximum": 30}}})
    return EventSchema.objects.get(**KIND.lookup())


def test_from_the_list_to_the_diff_with_change_names(log_in, live_daphne, schema, tmp_path):
    page = log_in(make_viewer())
    page.get_by_role("link", name="Schemas").click()
    page.get_by_role("link", name="test.browser · ParcelSent").click()
    assert page.locator("[data-verdict]").inner_text() == "not backward compatible"
    change = page.locator("[data-change]", has_text="TYPE_NARROWED")
    assert '"weight": {' in change.locator("xpath=ancestor::tr").inner_text()
    page.screenshot(path=str(tmp_path / "schema.png"), full_page=True)


def test_a_violation_appears_without_reloading(log_in, live_daphne, schema):
    page = log_in(make_viewer())
    page.goto(f"{live_daphne}/schemas/{schema.pk}/")
    page.locator("#violations", has_text="No violations recorded").wait_for()
    publish_entries([{"source": KIND.source, "detail-type": KIND.detail_type, "detail": {"weight": 1.5}}])
    page.locator("#violations", has_text="/weight").wait_for(timeout=10_000)
