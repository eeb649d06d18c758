import ipaddress
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from dashboard import demo
from dashboard.shop.demo import OrderTraffic

DEFAULT_PORT = 8001


class Command(BaseCommand):
    help = (
        "Run the demo shop: a local webhook receiver, the shop's rules and targets (created if missing), and a "
        "steady stream of order, payment and user events. Webhooks to the receiver need loopback allowed: "
        "EVENTHUB_WEBHOOK_ALLOW_NETWORKS=127.0.0.0/8 for the dispatch workers (runstack --demo sets it)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--rate", type=float, default=6.0, help="Events per second (default 6).")
        parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="Receiver port; a free one if taken.")
        parser.add_argument(
            "--seconds", type=float, default=0, help="Stop after this long (default: run until stopped)."
        )
        parser.add_argument("--seed", type=int, default=None, help="Make the traffic repeatable.")

    def handle(self, *args, rate: float, port: int, seconds: float, seed: int | None, **options) -> None:
        receiver = demo.DemoReceiver(port=port, seed=seed)
        try:
            url = receiver.start()
        except OSError:
            receiver = demo.DemoReceiver(port=0, seed=seed)
            url = receiver.start()
        demo.ensure_rules(url)
        self.stdout.write(f"Demo shop: receiver on {url}, publishing about {rate:g} events/s. Ctrl-C stops it.")
        if not _loopback_allowed():
            self.stderr.write(
                "Webhooks to 127.0.0.1 are refused unless EVENTHUB_WEBHOOK_ALLOW_NETWORKS includes it "
                "(for example 127.0.0.0/8); deliveries will fail until then."
            )
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        shop = demo.Shop(seed)
        # Orders also go through the event-sourced Order aggregate, so streams and order_views fill up.
        orders = OrderTraffic(seed)
        tick = 0.5
        deadline = time.monotonic() + seconds if seconds else None
        owed = 0.0
        try:
            while not stopping and (deadline is None or time.monotonic() < deadline):
                started = time.monotonic()
                owed += rate * tick * shop.random.uniform(0.6, 1.4)
                size = int(owed)
                if size:
                    owed -= size
                    demo.publish_batch(shop, size)
                orders.step()
                time.sleep(max(0.0, tick - (time.monotonic() - started)))
        except KeyboardInterrupt:
            pass
        finally:
            receiver.stop()


def _loopback_allowed() -> bool:
    loopback = ipaddress.ip_address("127.0.0.1")
    for network in settings.EVENTHUB.get("WEBHOOK_ALLOW_NETWORKS", []):
        try:
            if loopback in ipaddress.ip_network(network.strip(), strict=False):
                return True
        except ValueError:
            continue
    return False
