"""The projections page's Skip (Django test client) answers as the API does: a projection that is not
stopped on a failing event has nothing to skip, and the page says so instead of ignoring the click."""

import pytest

from dashboard.audit import PROJECTION_ACTIONS
from dashboard.models.audit import AuditEntry
from tests.dashboard_support import make_operator

pytestmark = pytest.mark.django_db

NOTHING_SKIPPED = "Nothing skipped: projection order_views is not stopped on a failing event."


def test_skip_on_a_running_projection_says_nothing_was_skipped(client):
    client.force_login(make_operator())
    response = client.post("/projections/order_views/skip", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert NOTHING_SKIPPED in response.content.decode()


def test_skip_without_htmx_carries_the_message_to_the_page(client):
    client.force_login(make_operator())
    response = client.post("/projections/order_views/skip", follow=True)
    assert NOTHING_SKIPPED in response.content.decode()


def test_a_skip_that_skipped_nothing_is_not_audited(client):
    client.force_login(make_operator())
    client.post("/projections/order_views/skip", HTTP_HX_REQUEST="true")
    assert not AuditEntry.objects.filter(action=PROJECTION_ACTIONS["skip"]).exists()


def test_skip_on_an_unknown_projection_is_not_found(client):
    client.force_login(make_operator())
    assert client.post("/projections/nothing/skip", HTTP_HX_REQUEST="true").status_code == 404
