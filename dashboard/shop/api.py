"""The shop's HTTP commands and queries: `CreateOrder`, ship, cancel (writes go to the Order stream) and the
`order_views` read model (reads). A query answers with the projection's position so a client that just
wrote (and got the event's position back) can tell whether the view includes its write yet."""

import asyncio

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse

from dashboard.api.errors import ApiError, json_response
from dashboard.api.framework import MAX_PAGE, api_view, by_method, int_param, read_json_body
from dashboard.api.native.streams import wrong_version_response
from dashboard.eventsourcing.streams import AppendResult, InvalidStream, WrongExpectedVersion
from dashboard.models.shop import OrderView
from dashboard.models.streams import ProjectionState

from .orders import InvalidOrder, OrderNotFound, OrderRuleBroken, cancel_order, create_order, ship_order


def render_order(view: OrderView) -> dict:
    return {
        "order_id": view.order_id,
        "customer": view.customer,
        "items": view.items,
        "total": str(view.total),
        "status": view.status,
        "created_at": view.created_at.isoformat(),
        "shipped_at": view.shipped_at.isoformat() if view.shipped_at else None,
        "cancelled_at": view.cancelled_at.isoformat() if view.cancelled_at else None,
        "version": view.version,
    }


def _written(order_id: str, result: AppendResult) -> dict:
    return {"order_id": order_id, "version": result.last_version, "position": result.positions[-1]}


async def _command(run) -> HttpResponse:
    try:
        # Shielded: a client that hangs up must not cancel an append that is under way.
        return await asyncio.shield(sync_to_async(run)())
    except InvalidOrder as error:
        raise ApiError(400, "InvalidOrder", str(error)) from None
    except InvalidStream as error:
        raise ApiError(400, "InvalidRequest", str(error)) from None
    except OrderNotFound as error:
        raise ApiError(404, "NotFound", str(error)) from None
    except OrderRuleBroken as error:
        raise ApiError(409, "OrderRuleBroken", str(error)) from None
    except WrongExpectedVersion as error:
        return wrong_version_response(error)


def _body(request: HttpRequest) -> dict:
    payload = read_json_body(request)
    if not isinstance(payload, dict):
        raise ApiError(400, "InvalidRequest", "Send a JSON object.")
    return payload


@api_view(("POST",), scope="publish")
async def create(request: HttpRequest) -> HttpResponse:
    payload = _body(request)
    order_id, currency = payload.get("order_id"), payload.get("currency", "USD")
    if order_id is not None and not isinstance(order_id, str):
        raise ApiError(400, "InvalidOrder", "order_id must be a string")

    def run() -> HttpResponse:
        order, result = create_order(
            payload.get("customer"),
            payload.get("items"),
            order_id=order_id,
            shipping_address=payload.get("shipping_address"),
            currency=currency,
        )
        return json_response(_written(order.id, result) | {"total": str(order.total)}, status=201)

    return await _command(run)


@api_view(("POST",), scope="publish")
async def ship(request: HttpRequest, order_id: str) -> HttpResponse:
    payload = _body(request)

    def run() -> HttpResponse:
        result = ship_order(order_id, payload.get("carrier", ""), expected_version=payload.get("expected_version"))
        return json_response(_written(order_id, result))

    return await _command(run)


@api_view(("POST",), scope="publish")
async def cancel(request: HttpRequest, order_id: str) -> HttpResponse:
    payload = _body(request)
    reason = payload.get("reason", "")

    def run() -> HttpResponse:
        result = cancel_order(order_id, reason, expected_version=payload.get("expected_version"))
        return json_response(_written(order_id, result))

    return await _command(run)


async def _projection_position() -> int:
    state = await ProjectionState.objects.filter(name=OrderView.projection_name).afirst()
    return state.position if state else 0


@api_view(("GET",), scope="read")
async def list_orders(request: HttpRequest) -> HttpResponse:
    limit = int_param(request, "limit", 100, 1, MAX_PAGE)
    views = OrderView.live()
    if status := request.GET.get("status"):
        if status not in OrderView.Status.values:
            raise ApiError(400, "InvalidParameter", f"status is one of {', '.join(OrderView.Status.values)}.")
        views = views.filter(status=status)
    found = [render_order(v) async for v in views.order_by("-created_at")[:limit]]
    return json_response({"orders": found, "projection_position": await _projection_position()})


@api_view(("GET",), scope="read")
async def get_order(request: HttpRequest, order_id: str) -> HttpResponse:
    view = None if "\x00" in order_id else await OrderView.live().filter(order_id=order_id).afirst()
    if view is None:
        raise ApiError(404, "NotFound", f"No order {order_id!r} in the view (yet).")
    return json_response(render_order(view) | {"projection_position": await _projection_position()})


# `/api/v1/shop/orders`: POST is the CreateOrder command, GET lists the order views.
orders = by_method(get=list_orders, post=create)
