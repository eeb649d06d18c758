"""The Order aggregate and the shop's commands. Events (source `shop.orders`, the demo rules' shape):

    OrderCreated    {orderId, customer, items: [{sku, quantity, price}], total, currency, shippingAddress?}
    OrderShipped    {orderId, carrier, shippingAddress?}
    OrderCancelled  {orderId, reason}

Money is computed with Decimal and carried as JSON numbers, so rules can match it with numeric patterns.
"""

from decimal import Decimal, InvalidOperation

from dashboard.eventsourcing.aggregate import Aggregate, on
from dashboard.eventsourcing.streams import AppendResult, WrongExpectedVersion, parse_expected_version
from dashboard.lib.ids import uuid7
from dashboard.models import Event

MAX_ITEMS = 100
_CENT = Decimal("0.01")


class InvalidOrder(ValueError):
    """The command's input is not a valid order (answered 400)."""


class OrderNotFound(LookupError):
    pass


class OrderRuleBroken(Exception):
    """The command does not fit the order's state, e.g. shipping a cancelled order (answered 409)."""


class Order(Aggregate):
    aggregate_type = "Order"
    source = "shop.orders"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.status = "new"
        self.customer = ""
        self.items: list[dict] = []
        self.total = Decimal("0")
        self.created_at = None
        self.shipped_at = None
        self.cancelled_at = None
        self.cancel_reason = ""
        self.shipping_address: dict | None = None
        self.carrier = ""

    @classmethod
    def create(
        cls,
        customer: object,
        items: object,
        *,
        order_id: str | None = None,
        shipping_address: object = None,
        currency: str = "USD",
    ) -> "Order":
        lines = _items(items)
        order = cls(order_id or f"ord-{uuid7().hex[:20]}")
        total = sum((Decimal(str(line["price"])) * line["quantity"] for line in lines), Decimal("0"))
        detail = {"orderId": order.id, "customer": _customer(customer), "items": lines, "total": _number(total)}
        detail["currency"] = _currency(currency)
        if shipping_address is not None:
            detail["shippingAddress"] = _address(shipping_address)
        order.record("OrderCreated", detail)
        return order

    def ship(self, carrier: str = "", *, cause: Event | None = None) -> None:
        self._require_open("ship")
        if not _plain_text(carrier) or len(carrier) > 64:
            raise InvalidOrder("carrier must be a string of at most 64 characters")
        detail = {"orderId": self.id, "carrier": carrier}
        if self.shipping_address:
            detail["shippingAddress"] = self.shipping_address
        self.record("OrderShipped", detail, cause=cause)

    def cancel(self, reason: str = "", *, cause: Event | None = None) -> None:
        self._require_open("cancel")
        if not _plain_text(reason) or len(reason) > 500:
            raise InvalidOrder("reason must be a string of at most 500 characters")
        self.record("OrderCancelled", {"orderId": self.id, "reason": reason}, cause=cause)

    def _require_open(self, action: str) -> None:
        if self.status == "new":
            raise OrderNotFound(f"no order {self.id!r}")
        if self.status != "created":
            raise OrderRuleBroken(f"cannot {action} order {self.id}: it is {self.status}")

    @on("OrderCreated")
    def _created(self, event: Event) -> None:
        self.status, self.customer = "created", event.detail["customer"]
        self.items = event.detail["items"]
        self.total = Decimal(str(event.detail["total"])).quantize(_CENT)
        self.shipping_address = event.detail.get("shippingAddress")
        self.created_at = event.time

    @on("OrderShipped")
    def _shipped(self, event: Event) -> None:
        self.status, self.shipped_at = "shipped", event.time
        self.carrier = event.detail.get("carrier", "")

    @on("OrderCancelled")
    def _cancelled(self, event: Event) -> None:
        self.status, self.cancelled_at = "cancelled", event.time
        self.cancel_reason = event.detail.get("reason", "")


def create_order(
    customer: object,
    items: object,
    *,
    order_id: str | None = None,
    shipping_address: object = None,
    currency: str = "USD",
) -> tuple[Order, AppendResult]:
    """The CreateOrder command: a new Order stream (WrongExpectedVersion when `order_id` is taken)."""
    order = Order.create(customer, items, order_id=order_id, shipping_address=shipping_address, currency=currency)
    return order, order.save()


def ship_order(
    order_id: str, carrier: str = "", *, expected_version: object = None, cause: Event | None = None
) -> AppendResult:
    order = _load(order_id, expected_version)
    order.ship(carrier, cause=cause)
    return order.save()


def cancel_order(
    order_id: str, reason: str = "", *, expected_version: object = None, cause: Event | None = None
) -> AppendResult:
    order = _load(order_id, expected_version)
    order.cancel(reason, cause=cause)
    return order.save()


def ship_new_order(event: dict) -> None:
    """Demo warehouse (a python target for OrderCreated): ships the order, caused by that event."""
    cause = Event.objects.get(event_id=event["id"])
    order = Order.load(cause.aggregate_id)
    if order.status == "created":
        order.ship(cause=cause)
        order.save()


def _load(order_id: str, expected_version: object) -> Order:
    order = Order.load(order_id)
    if expected_version is not None:
        expected = parse_expected_version(expected_version)
        if isinstance(expected, int) and expected != order.version:
            raise WrongExpectedVersion(order.stream, expected, order.version)
    return order


def _plain_text(value: object) -> bool:
    """Control characters (NUL above all, which PostgreSQL refuses to store) have no place in an order."""
    return isinstance(value, str) and not any(ord(c) < 32 for c in value)


def _customer(value: object) -> str:
    if not _plain_text(value) or not value.strip() or len(value) > 256:
        raise InvalidOrder("customer must be a non-empty string of at most 256 characters")
    return value.strip()


def _currency(value: object) -> str:
    if not isinstance(value, str) or len(value) != 3 or not value.isalpha():
        raise InvalidOrder("currency must be a three-letter code such as USD")
    return value.upper()


def _address(value: object) -> dict:
    fields = ("country", "city")
    if not isinstance(value, dict) or set(value) - set(fields):
        raise InvalidOrder("shipping_address must be an object with country and city")
    if not all(_plain_text(value.get(f, "")) and len(value.get(f, "")) <= 100 for f in fields):
        raise InvalidOrder("shipping_address country and city must be strings of at most 100 characters")
    return {f: value[f] for f in fields if f in value}


def _items(value: object) -> list[dict]:
    if not isinstance(value, list) or not 0 < len(value) <= MAX_ITEMS:
        raise InvalidOrder(f"items must be a list of 1 to {MAX_ITEMS} lines")
    return [_line(n, line) for n, line in enumerate(value)]


def _line(n: int, line: object) -> dict:
    if not isinstance(line, dict):
        raise InvalidOrder(f"items[{n}] must be an object with sku, quantity and price")
    sku, quantity, price = line.get("sku"), line.get("quantity"), line.get("price")
    if not _plain_text(sku) or not 0 < len(sku) <= 64:
        raise InvalidOrder(f"items[{n}].sku must be a string of 1 to 64 characters")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 0 < quantity <= 10_000:
        raise InvalidOrder(f"items[{n}].quantity must be a whole number from 1 to 10000")
    try:
        amount = Decimal(str(price)) if isinstance(price, int | float | str) and not isinstance(price, bool) else None
    except InvalidOperation:
        amount = None
    # The range first: quantizing a huge amount would exceed the decimal context's precision.
    if amount is None or not amount.is_finite() or not 0 <= amount <= 10**9 or amount != amount.quantize(_CENT):
        raise InvalidOrder(f"items[{n}].price must be an amount of at least 0 with at most 2 decimals")
    return {"sku": sku, "quantity": quantity, "price": _number(amount)}


def _number(amount: Decimal) -> int | float:
    """A JSON number for an amount in cents precision (12.5, 3)."""
    amount = amount.quantize(_CENT)
    return int(amount) if amount == amount.to_integral_value() else float(amount)
