import ipaddress
import signal
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dashboard import demo
from dashboard.shop.demo import OrderTraffic

DEFAULT_PORT = 8001
STOP_GRACE_SECONDS = 0.5


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
        taken = ""
        try:
            url = receiver.start()
        except OSError:
            receiver = demo.DemoReceiver(port=0, seed=seed)
            url = receiver.start()
            taken = f" ({port} was taken)"
        demo.ensure_rules(url)
        self.stdout.write(
            f"Demo shop: its webhook receiver listens on {url}{taken}; publishing about {rate:g} events/s. "
            "Ctrl-C stops it."
        )
        if not _loopback_allowed():
            self.stderr.write(
                "Webhooks to 127.0.0.1 are refused unless EVENTHUB_WEBHOOK_ALLOW_NETWORKS includes it "
                "(for example 127.0.0.0/8); deliveries will fail until then."
            )
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        # Publishing runs in a thread of its own: a write waiting on a database lock (SQLite's busy timeout
        # is 20 s) holds its thread in C code, where no signal handler runs, and Ctrl-C must not wait for it.
        failures: list[BaseException] = []
        traffic = threading.Thread(
            target=_publish_until, args=(stop, rate, seed, failures), name="demo-traffic", daemon=True
        )
        traffic.start()
        stop.wait(seconds or None)
        stop.set()
        # A batch in progress gets a moment to commit; if it is stuck, exiting rolls it back, and the
        # receiver's socket closes with the process.
        traffic.join(timeout=STOP_GRACE_SECONDS)
        if failures:
            raise CommandError(f"demo traffic stopped: {failures[0]!r}")


def _publish_until(stop: threading.Event, rate: float, seed: int | None, failures: list[BaseException]) -> None:
    """About `rate` shop events a second, in half-second batches, until `stop` is set or a publish fails."""
    shop = demo.Shop(seed)
    # Orders also go through the event-sourced Order aggregate, so streams and order_views fill up.
    orders = OrderTraffic(seed)
    tick = 0.5
    owed = 0.0
    try:
        while not stop.is_set():
            started = time.monotonic()
            owed += rate * tick * shop.random.uniform(0.6, 1.4)
            size = int(owed)
            if size:
                owed -= size
                demo.publish_batch(shop, size)
            orders.step()
            stop.wait(max(0.0, tick - (time.monotonic() - started)))
    except Exception as error:  # noqa: BLE001 - handed to the main thread, which exits with it
        failures.append(error)
        stop.set()


def _loopback_allowed() -> bool:
    loopback = ipaddress.ip_address("127.0.0.1")
    for network in settings.EVENTHUB.get("WEBHOOK_ALLOW_NETWORKS", []):
        try:
            if loopback in ipaddress.ip_network(network.strip(), strict=False):
                return True
        except ValueError:
            continue
    return False
