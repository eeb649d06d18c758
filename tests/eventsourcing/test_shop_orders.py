"""The demo shop: the Order aggregate's rules, the CreateOrder/ship/cancel endpoints, the order_views API."""

import json
from decimal import Decimal

import pytest

from dashboard.eventsourcing import projection_runner
from dashboard.eventsourcing.streams import StreamName, WrongExpectedVersion, read
from dashboard.models import Event
from dashboard.shop.orders import (
    InvalidOrder,
    Order,
    OrderNotFound,
    OrderRuleBroken,
    cancel_order,
    create_order,
    ship_new_order,
    ship_order,
)

pytestmark = pytest.mark.django_db

ITEMS = [{"sku": "tea", "quantity": 3, "price": 2.25}, {"sku": "pot", "quantity": 1, "price": 30}]


def post(client, url, body, auth_header):
    return client.post(url, json.dumps(body), content_type="application/json", **auth_header)


def test_create_order_totals_the_items_and_starts_a_stream():
    order, result = create_order("ada", ITEMS, shipping_address={"country": "DE", "city": "Berlin"})
    event = read(StreamName("Order", order.id))[0]
    assert (result.first_version, event.detail_type, event.source) == (1, "OrderCreated", "shop.orders")
    assert event.detail["total"] == 36.75 and order.total == Decimal("36.75")
    assert event.detail["shippingAddress"] == {"country": "DE", "city": "Berlin"}


def test_an_order_id_can_only_be_created_once():
    create_order("ada", ITEMS, order_id="ord-1")
    with pytest.raises(WrongExpectedVersion):
        create_order("bob", ITEMS, order_id="ord-1")


def test_a_cancelled_order_cannot_be_shipped():
    order, _ = create_order("ada", ITEMS)
    cancel_order(order.id, "no longer needed")
    with pytest.raises(OrderRuleBroken):
        ship_order(order.id)
    assert Order.load(order.id).status == "cancelled"


def test_shipping_an_unknown_order_is_not_found():
    with pytest.raises(OrderNotFound):
        ship_order("ord-nobody")


@pytest.mark.parametrize(
    "items",
    [
        [],
        "tea",
        [{"sku": "", "quantity": 1, "price": 1}],
        [{"sku": "a", "quantity": 0, "price": 1}],
        [{"sku": "a", "quantity": 1, "price": 1.234}],
        [{"sku": "a", "quantity": 1, "price": -1}],
        [{"sku": "a", "quantity": True, "price": 1}],
        [{"sku": "a", "quantity": 1, "price": "NaN"}],
        [{"sku": "a", "quantity": 1, "price": 1e30}],
        [{"sku": "a", "quantity": 1, "price": "1E+40"}],
    ],
)
def test_bad_items_are_refused(items):
    with pytest.raises(InvalidOrder):
        create_order("ada", items)


def test_a_stale_expected_version_refuses_the_command():
    order, _ = create_order("ada", ITEMS)
    with pytest.raises(WrongExpectedVersion) as conflict:
        ship_order(order.id, expected_version=3)
    assert conflict.value.current == 1


def test_the_warehouse_handler_ships_with_causation_to_the_order_event():
    order, result = create_order("ada", ITEMS)
    created = Event.objects.get(event_id=result.event_ids[0])
    ship_new_order(created.envelope())
    shipped = read(StreamName("Order", order.id))[1]
    assert shipped.detail_type == "OrderShipped"
    assert (shipped.causation_id, shipped.correlation_id) == (created.event_id, created.correlation_id)


def test_create_order_endpoint_answers_201_with_version_and_position(client, auth_header):
    response = post(client, "/api/v1/shop/orders", {"customer": "ada", "items": ITEMS}, auth_header)
    assert response.status_code == 201
    body = response.json()
    assert body["version"] == 1 and body["total"] == "36.75"
    assert Event.objects.get(position=body["position"]).aggregate_id == body["order_id"]


def test_create_order_endpoint_refuses_bad_input_with_400(client, auth_header):
    response = post(client, "/api/v1/shop/orders", {"customer": "", "items": ITEMS}, auth_header)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidOrder"


def test_ship_endpoint_conflicts_on_a_stale_version(client, auth_header):
    order, _ = create_order("ada", ITEMS)
    url = f"/api/v1/shop/orders/{order.id}/ship"
    assert post(client, url, {"expected_version": 0}, auth_header).status_code == 409
    assert post(client, url, {"expected_version": 1, "carrier": "dhl"}, auth_header).status_code == 200
    assert post(client, url, {}, auth_header).json()["error"]["code"] == "OrderRuleBroken"


def test_order_views_endpoint_serves_the_projection(client, auth_header):
    order, _ = create_order("ada", ITEMS)
    ship_order(order.id, "ups")
    projection_runner.catch_up("order_views")
    listed = client.get("/api/v1/shop/orders", **auth_header).json()
    assert [o["order_id"] for o in listed["orders"]] == [order.id]
    one = client.get(f"/api/v1/shop/orders/{order.id}", **auth_header).json()
    assert (one["status"], one["total"], one["version"]) == ("shipped", "36.75", 2)
    assert one["shipped_at"] is not None
    assert client.get("/api/v1/shop/orders/ord-x", **auth_header).status_code == 404
