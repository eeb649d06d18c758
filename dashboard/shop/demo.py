"""Demo traffic for the event-sourced shop: orders created through the CreateOrder command, then some
shipped and some cancelled, so `order_views` and the stream pages have something to show.

`manage.py demo_traffic` can call `OrderTraffic(seed).step()` for its order events; the events have the
shape the demo rules expect (source `shop.orders`, a numeric `total`, `shippingAddress.country`).
"""

import logging
import random

from dashboard.eventsourcing.streams import WrongExpectedVersion

from .orders import OrderRuleBroken, cancel_order, create_order, ship_order

SKUS = {"mug-classic": 9, "tee-logo": 19, "hoodie-zip": 49, "cap-navy": 19, "desk-mat": 89, "keyboard-75": 149}
ADDRESSES = [("US", "Austin"), ("US", "Denver"), ("DE", "Berlin"), ("FR", "Lyon"), ("GB", "Leeds"), ("JP", "Osaka")]
CUSTOMERS = ["ada", "grace", "linus", "margaret", "ken", "barbara", "edsger", "frances"]
CARRIERS = ["dhl", "ups", "fedex", "usps"]
OPEN_KEPT = 50

log = logging.getLogger(__name__)


class OrderTraffic:
    """Keeps a few open orders; each step creates one, or ships or cancels an open one."""

    def __init__(self, seed: int | None = None) -> None:
        self.random = random.Random(seed)
        self.open_orders: list[str] = []

    def step(self) -> str:
        """One command; returns the order id it touched."""
        roll = self.random.random()
        if roll < 0.5 or not self.open_orders:
            return self._create()
        order_id = self.open_orders.pop(self.random.randrange(len(self.open_orders)))
        try:
            if roll < 0.9:
                ship_order(order_id, self.random.choice(CARRIERS))
            else:
                cancel_order(order_id, self.random.choice(["customer_request", "out_of_stock"]))
        except (OrderRuleBroken, WrongExpectedVersion) as error:
            # Someone else (the demo warehouse handler, say) got there first: that is part of the demo.
            log.info("demo order %s: %s", order_id, error)
        return order_id

    def _create(self) -> str:
        skus = self.random.sample(sorted(SKUS), self.random.randint(1, 3))
        items = [{"sku": sku, "quantity": self.random.randint(1, 3), "price": SKUS[sku]} for sku in skus]
        if self.random.random() < 0.1:
            items.append({"sku": "espresso-machine", "quantity": 1, "price": 1200})  # for the fraud check rule
        country, city = self.random.choice(ADDRESSES)
        order, _ = create_order(
            self.random.choice(CUSTOMERS), items, shipping_address={"country": country, "city": city}
        )
        self.open_orders = (self.open_orders + [order.id])[-OPEN_KEPT:]
        return order.id
