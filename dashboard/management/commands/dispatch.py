import asyncio
import logging
import signal

from django.core.management.base import BaseCommand

from dashboard.delivery.worker import Dispatcher
from dashboard.observability.tracing import start_from_settings


class Command(BaseCommand):
    help = (
        "Run a dispatch worker: deliver events to webhooks and Python handlers. Start as many as you like, "
        "on any machines; they share the Redis consumer group. SIGTERM or Ctrl-C finishes in-flight "
        "deliveries, records them and exits."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--concurrency", type=int, default=None, help="Deliveries in flight (default 64).")
        parser.add_argument(
            "--prefetch",
            type=int,
            default=None,
            help="Deliveries in hand, sent ones waiting to be recorded included (default 512; at least --concurrency).",
        )
        parser.add_argument("--name", default=None, help="Consumer name (default host-pid-random).")

    def handle(self, *args, concurrency: int | None, prefetch: int | None, name: str | None, **options) -> None:
        for option, value in (("--concurrency", concurrency), ("--prefetch", prefetch)):
            if value is not None and value < 1:
                self.stderr.write(f"{option} must be at least 1")
                raise SystemExit(2)
        logging.getLogger("dashboard").setLevel(logging.INFO)
        start_from_settings("eventhub-dispatch")
        asyncio.run(self._run(Dispatcher(concurrency=concurrency, prefetch=prefetch, name=name)))

    @staticmethod
    async def _run(dispatcher: Dispatcher) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await dispatcher.run(stop)
