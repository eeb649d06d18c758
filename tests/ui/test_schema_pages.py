"""The Schemas pages: registry overview with traffic and conformance, version diff with change names, violations."""

import pytest

from dashboard.ingest.publishing import publish_entries
from dashboard.models import Event, EventSchema
from dashboard.schemas.registry import Kind, configure, register_version
from dashboard.ui.schemas.pages import pretty_lines
from tests.dashboard_support import make_viewer

pytestmark = pytest.mark.django_db

KIND = Kind("default", "test.pages", "ParcelSent")
V1 = {"type": "object", "properties": {"weight": {"type": "number", "maximum": 30}}, "additionalProperties": False}
V2 = {"type": "object", "properties": {"weight": {"type": "number", "maximum": 20}}, "additionalProperties": False}


@pytest.fixture
def viewer(client):
    client.force_login(make_viewer())
    return client


@pytest.fixture
def schema():
    configure(KIND, compatibility="NONE", validation="warn")
    register_version(KIND, V1)
    register_version(KIND, V2)
    return EventSchema.objects.get(**KIND.lookup())


def send(weight):
    return publish_entries([{"source": KIND.source, "detail-type": KIND.detail_type, "detail": {"weight": weight}}])[0]


def test_list_shows_versions_traffic_and_conforming_share(viewer, schema):
    send(10)
    send(25)
    page = viewer.get("/schemas/").content.decode()
    assert "test.pages" in page and "ParcelSent" in page
    assert '<td class="num" data-traffic>2</td>' in page
    assert '<td class="num" data-conforming>50.0 %</td>' in page


def test_both_pages_stay_live_over_their_socket(viewer, schema):
    assert 'ws-connect="/ws/schemas/"' in viewer.get("/schemas/").content.decode()
    assert f'ws-connect="/ws/schemas/?schema={schema.pk}"' in viewer.get(f"/schemas/{schema.pk}/").content.decode()


def test_detail_diffs_the_last_two_versions_with_change_names(viewer, schema):
    page = viewer.get(f"/schemas/{schema.pk}/").content.decode()
    assert "v1 → v2" in page
    assert "not backward compatible" in page
    assert "MAXIMUM_DECREASED" in page


def test_detail_compares_any_two_versions(viewer, schema):
    page = viewer.get(f"/schemas/{schema.pk}/?a=2&b=1").content.decode()
    assert "v2 → v1" in page and "MAXIMUM_INCREASED" in page


def test_detail_links_violations_to_their_event(viewer, schema):
    result = send(99)
    position = Event.objects.get(event_id=result.event_id).position
    page = viewer.get(f"/schemas/{schema.pk}/").content.decode()
    assert f'href="/events/{position}/"' in page
    assert "/weight" in page


def test_detail_of_a_missing_schema_is_404(viewer):
    assert viewer.get("/schemas/999999/").status_code == 404


def test_schema_text_is_escaped(viewer):
    kind = Kind("default", "test.pages", "<script>alert(1)</script>")
    register_version(kind, {"title": "<img src=x onerror=alert(1)>"})
    schema = EventSchema.objects.get(**kind.lookup())
    page = viewer.get(f"/schemas/{schema.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in page and "<img src=x" not in page


def test_pretty_lines_remember_where_each_pointer_starts():
    lines, where = pretty_lines({"properties": {"a/b": {"type": "string"}}})
    assert lines[where["/properties/a~1b"]].strip() == '"a/b": {'
