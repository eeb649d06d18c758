"""The demo shop: rules and targets modelled on an online shop, and a stream of its events.

`manage.py demo_traffic` runs it; the functions here are plain so the screenshot script and tests can
seed the same picture. Events go in through `publish_entries`, the one way in, like any producer's.
"""

import asyncio
import random
import threading
import uuid
from dataclasses import dataclass

from aiohttp import web
from django.db import transaction

from dashboard.ingest.publishing import publish_entries
from dashboard.models import Rule, Target

COUNTRIES = ["US", "US", "US", "US", "DE", "FR", "GB", "CA", "JP", "BR", "NL"]
CITIES = {"US": "Austin", "DE": "Berlin", "FR": "Lyon", "GB": "Leeds", "CA": "Calgary", "JP": "Osaka", "BR": "Recife"}
SKUS = ["mug-classic", "tee-logo", "hoodie-zip", "sticker-pack", "cap-navy", "bottle-steel", "desk-mat", "keyboard-75"]
CARRIERS = ["dhl", "ups", "fedex", "usps"]
PAYMENT_METHODS = ["card", "card", "card", "paypal", "bank_transfer"]
PLANS = ["free", "free", "plus", "pro"]


@dataclass(frozen=True)
class DemoTarget:
    name: str
    path: str  # on the demo receiver
    max_retries: int = 185
    max_age_seconds: int = 86_400


@dataclass(frozen=True)
class DemoRule:
    name: str
    description: str
    pattern: str
    targets: tuple[DemoTarget, ...]


# The flaky target gives up after two retries and a minute, so the dead-letter queue fills within a minute.
FLAKY = DemoTarget("crm-sync", "/crm", max_retries=2, max_age_seconds=60)
RULES = (
    DemoRule(
        "large-orders-fraud-check",
        "Orders of 1,000 or more go to the fraud check.",
        '{"source": ["shop.orders"], "detail-type": ["OrderCreated"], '
        '"detail": {"total": [{"numeric": [">=", 1000]}]}}',
        (DemoTarget("fraud-check", "/fraud"),),
    ),
    DemoRule(
        "international-shipments-customs",
        "Orders shipped outside the US need a customs declaration.",
        '{"source": ["shop.orders"], "detail-type": ["OrderShipped"], '
        '"detail": {"shippingAddress": {"country": [{"anything-but": "US"}]}}}',
        (DemoTarget("customs", "/customs"),),
    ),
    DemoRule(
        "all-orders-analytics",
        "Every order event feeds the analytics warehouse.",
        '{"source": ["shop.orders"]}',
        (DemoTarget("analytics", "/analytics"),),
    ),
    DemoRule(
        "payments-ledger",
        "Captured and refunded payments are booked in the ledger.",
        '{"source": ["shop.payments"], "detail-type": ["PaymentCaptured", "PaymentRefunded"]}',
        (DemoTarget("ledger", "/ledger"),),
    ),
    DemoRule(
        "users-crm",
        "New and changed customers are synced to the CRM, which fails now and then.",
        '{"source": ["shop.users"]}',
        (FLAKY,),
    ),
)


def ensure_rules(receiver_url: str) -> None:
    """Create the demo rules and targets if missing; point the targets at this run's receiver."""
    with transaction.atomic():
        for spec in RULES:
            rule, _ = Rule.objects.get_or_create(
                bus="default", name=spec.name, defaults={"event_pattern": spec.pattern, "description": spec.description}
            )
            for target_spec in spec.targets:
                Target.objects.update_or_create(
                    rule=rule,
                    name=target_spec.name,
                    defaults={
                        "kind": Target.Kind.WEBHOOK,
                        "url": receiver_url.rstrip("/") + target_spec.path,
                        "maximum_retry_attempts": target_spec.max_retries,
                        "maximum_event_age_seconds": target_spec.max_age_seconds,
                        "timeout_seconds": 2.0,
                    },
                )


class Shop:
    """Makes plausible shop events; keeps a few open orders so shipments and payments refer to real ones."""

    def __init__(self, seed: int | None = None) -> None:
        self.random = random.Random(seed)
        self.open_orders: list[dict] = []

    def _id(self, prefix: str) -> str:
        return f"{prefix}-{uuid.UUID(int=self.random.getrandbits(128)).hex[:10]}"

    def order_created(self) -> dict:
        country = self.random.choice(COUNTRIES)
        items = [
            {
                "sku": self.random.choice(SKUS),
                "qty": self.random.randint(1, 3),
                "price": self.random.choice([9, 19, 49, 89, 149, 349]),
            }
            for _ in range(self.random.randint(1, 4))
        ]
        total = sum(item["qty"] * item["price"] for item in items)
        if self.random.random() < 0.12:
            total += self.random.choice([900, 1500, 2400])  # a big order now and then, for the fraud check
        order = {
            "orderId": self._id("ord"),
            "customerId": self._id("cus"),
            "total": round(float(total), 2),
            "currency": "USD",
            "items": items,
            "shippingAddress": {"country": country, "city": CITIES.get(country, "Springfield")},
        }
        self.open_orders = (self.open_orders + [order])[-50:]
        return self._entry("shop.orders", "OrderCreated", order)

    def next_entry(self) -> dict:
        roll = self.random.random()
        if roll < 0.35 or not self.open_orders:
            return self.order_created()
        order = self.random.choice(self.open_orders)
        if roll < 0.55:
            self.open_orders.remove(order)
            return self._entry(
                "shop.orders",
                "OrderShipped",
                {
                    "orderId": order["orderId"],
                    "carrier": self.random.choice(CARRIERS),
                    "shippingAddress": order["shippingAddress"],
                },
            )
        if roll < 0.60:
            self.open_orders.remove(order)
            reason = self.random.choice(["customer_request", "out_of_stock", "payment_failed"])
            return self._entry("shop.orders", "OrderCancelled", {"orderId": order["orderId"], "reason": reason})
        if roll < 0.85:
            kind = self.random.choices(
                ["PaymentAuthorized", "PaymentCaptured", "PaymentFailed", "PaymentRefunded"], [4, 4, 1, 1]
            )[0]
            payment = {
                "paymentId": self._id("pay"),
                "orderId": order["orderId"],
                "amount": order["total"],
                "method": self.random.choice(PAYMENT_METHODS),
            }
            return self._entry("shop.payments", kind, payment)
        kind = self.random.choice(["UserSignedUp", "UserUpdated"])
        user = {
            "userId": order["customerId"],
            "plan": self.random.choice(PLANS),
            "country": order["shippingAddress"]["country"],
        }
        return self._entry("shop.users", kind, user)

    @staticmethod
    def _entry(source: str, detail_type: str, detail: dict) -> dict:
        return {"source": source, "detail-type": detail_type, "detail": detail}


def publish_batch(shop: Shop, size: int) -> int:
    """Publish `size` shop events in one request's worth; returns how many were accepted."""
    results = publish_entries([shop.next_entry() for _ in range(size)])
    return sum(result.ok for result in results)


FLAKY_FAILURE_RATE = 0.35


class DemoReceiver:
    """The demo's webhook receiver on 127.0.0.1: answers 200, except the flaky CRM, which answers 500
    at FLAKY_FAILURE_RATE. It runs its own event loop in a thread so the publishing loop stays simple."""

    def __init__(self, *, port: int = 0, failure_rate: float = FLAKY_FAILURE_RATE, seed: int | None = None) -> None:
        self.port = port
        self.failure_rate = failure_rate
        self.random = random.Random(seed)
        self.received: dict[str, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None

    def start(self) -> str:
        """Start serving and return the base URL (the port may have been chosen by the OS)."""
        started = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(self._start())
            except OSError as error:
                failure.append(error)
                started.set()
                return
            started.set()
            self._loop.run_forever()

        threading.Thread(target=serve, name="demo-receiver", daemon=True).start()
        started.wait(10)
        if failure:
            raise failure[0]
        return f"http://127.0.0.1:{self.port}"

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("POST", "/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _handle(self, request: web.Request) -> web.Response:
        await request.read()
        path = "/" + request.match_info["path"]
        self.received[path] = self.received.get(path, 0) + 1
        if path == FLAKY.path and self.random.random() < self.failure_rate:
            return web.json_response({"error": "CRM is overloaded, try again later"}, status=500)
        return web.json_response({"ok": True})

    def stop(self) -> None:
        if self._loop is None or self._runner is None:
            return
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
