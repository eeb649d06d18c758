"""/api/v1/projections: status for readers, rebuild/retry/skip for admin keys."""

import pytest

from dashboard.eventsourcing import projection_runner
from dashboard.models import ApiKey
from dashboard.models.streams import ProjectionState
from dashboard.shop.orders import create_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_header() -> dict:
    key, secret = ApiKey.issue("ops", ["admin"])
    return {"HTTP_AUTHORIZATION": f"Bearer {key.access_key_id}:{secret}"}


def test_projections_list_position_lag_and_error(client, auth_header):
    create_order("ada", [{"sku": "a", "quantity": 1, "price": 1}])
    body = client.get("/api/v1/projections", **auth_header).json()
    views = {p["name"]: p for p in body["projections"]}
    assert views["order_views"]["position"] == 0 and views["order_views"]["lag"]["events"] == 1
    projection_runner.catch_up("order_views")
    one = client.get("/api/v1/projections/order_views", **auth_header).json()
    assert (one["status"], one["lag"]["events"], one["error"]) == ("running", 0, None)


def test_actions_need_the_admin_scope(client, auth_header):
    assert client.post("/api/v1/projections/order_views/rebuild", **auth_header).status_code == 403


def test_admin_asks_for_a_rebuild(client, admin_header):
    response = client.post("/api/v1/projections/order_views/rebuild", **admin_header)
    assert response.status_code == 202
    assert response.json()["rebuild"]["requested_at"] is not None
    assert ProjectionState.objects.get(name="order_views").rebuild_requested_at is not None


def test_skip_when_nothing_failed_is_409(client, admin_header):
    assert client.post("/api/v1/projections/order_views/skip", **admin_header).status_code == 409


def test_unknown_projection_or_action_is_404(client, admin_header, auth_header):
    assert client.get("/api/v1/projections/nothing", **auth_header).status_code == 404
    assert client.post("/api/v1/projections/order_views/explode", **admin_header).status_code == 404
