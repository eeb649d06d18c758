"""What the delivery tests share: a real local webhook receiver, a polling helper, a dispatch worker
(in-process on its own thread, or a real `manage.py dispatch` subprocess), and rule set-up."""

import asyncio
import json
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from django.utils import timezone

from dashboard.delivery.planning import routing_cache
from dashboard.delivery.worker import Dispatcher
from dashboard.ingest.publishing import publish_entries
from dashboard.models import Delivery, DeliveryAttempt, Rule, Target
from tests.conftest import ROOT, free_port

# Compressed schedule: what takes minutes in production takes fractions of a second here.
FAST = {
    "RETRY_BASE_SECONDS": 0.05,
    "RETRY_CAP_SECONDS": 0.4,
    "VISIBILITY_TIMEOUT_SECONDS": 2.0,
    "RECLAIM_INTERVAL_SECONDS": 0.5,
    "DELAYED_POLL_SECONDS": 0.02,
    "SWEEP_INTERVAL_SECONDS": 0.5,
    "SWEEP_GRACE_SECONDS": 1.0,
    "WEBHOOK_ALLOW_NETWORKS": ["127.0.0.0/8"],
}


def fast_env(base: dict) -> dict:
    """The same compressed schedule for worker subprocesses (settings.py reads the environment)."""
    env = dict(base)
    for key, value in FAST.items():
        env[f"EVENTHUB_{key}"] = ",".join(value) if isinstance(value, list) else str(value)
    return env


@dataclass
class Reply:
    status: int = 200
    headers: dict = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    at: float  # time.monotonic() when the request arrived
    status: int  # what the receiver answered

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")

    def json(self) -> object:
        return json.loads(self.body)


class Receiver:
    """A real HTTP server (aiohttp on its own thread) that records every request and answers by script.

    `script(path, Reply(500), Reply(200))` answers the first request to `path` with 500 and every later
    one with 200 (the last reply repeats); unscripted paths answer 200.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        self._scripts: dict[str, list[Reply]] = {}
        self._lock = threading.Lock()
        self._in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *replies: Reply) -> None:
        with self._lock:
            self._scripts[path] = list(replies)

    def requests(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.received if path is None or r.path == path]

    def ids(self, path: str | None = None) -> list[str]:
        return [r.webhook_id for r in self.requests(path)]

    def _reply(self, path: str) -> Reply:
        with self._lock:
            script = self._scripts.get(path)
            if not script:
                return Reply()
            return script.pop(0) if len(script) > 1 else script[0]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        path = request.path
        reply = self._reply(path)
        with self._lock:
            self.received.append(Received(path, dict(request.headers), body, time.monotonic(), reply.status))
            self._in_flight[path] = self._in_flight.get(path, 0) + 1
            self.max_in_flight[path] = max(self.max_in_flight.get(path, 0), self._in_flight[path])
        try:
            if reply.delay:
                await asyncio.sleep(reply.delay)
            return web.Response(status=reply.status, headers=reply.headers, body=reply.body)
        finally:
            with self._lock:
                self._in_flight[path] -= 1

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(runner.setup())
        self._loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        self._started.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())
        self._loop.close()

    def start(self) -> "Receiver":
        self._thread.start()
        self._started.wait(10)
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def fast(settings):
    """The compressed schedule for an in-process worker."""
    settings.EVENTHUB = {**settings.EVENTHUB, **FAST}
    return settings.EVENTHUB


@contextmanager
def running_dispatcher(concurrency: int = 16, prefetch: int | None = None):
    """A Dispatcher on its own thread and event loop, stopped (gracefully, like SIGTERM) on exit."""
    state: dict = {}
    ready = threading.Event()
    errors: list[BaseException] = []

    async def main() -> None:
        state["stop"], state["loop"] = asyncio.Event(), asyncio.get_running_loop()
        ready.set()
        await Dispatcher(concurrency=concurrency, prefetch=prefetch).run(state["stop"])

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as error:  # noqa: BLE001 - surfaced to the test below
            errors.append(error)
            ready.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield
    finally:
        if "loop" in state:
            state["loop"].call_soon_threadsafe(state["stop"].set)
        thread.join(30)
    if errors:
        raise errors[0]


def start_worker(env: dict, log_dir: Path, *extra: str) -> subprocess.Popen:
    """A real `manage.py dispatch` process; its log goes to a file (a full pipe would block it)."""
    log = open(log_dir / f"worker-{time.monotonic_ns()}.log", "wb")  # noqa: SIM115 - closed by stop_worker
    process = subprocess.Popen(
        [sys.executable, "manage.py", "dispatch", *extra], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    process.log = log
    return process


def stop_worker(process: subprocess.Popen, *, kill: bool = False) -> str:
    """Stop a worker (SIGKILL, or SIGTERM then SIGKILL) and return the tail of its log."""
    if process.poll() is None:
        if kill:
            process.kill()
        else:
            process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    process.log.close()
    return Path(process.log.name).read_text(errors="replace")[-4000:]


@dataclass
class Ledger:
    """Jepsen's total-queue check for deliveries: every expected webhook id must arrive at least once."""

    expected: set[str]
    received: list[str]

    @property
    def lost(self) -> set[str]:
        return self.expected - set(self.received)

    @property
    def unexpected(self) -> set[str]:
        return set(self.received) - self.expected

    @property
    def duplicates(self) -> int:
        return len(self.received) - len(set(self.received))

    def report(self) -> str:
        return (
            f"expected {len(self.expected)}, received {len(self.received)}, lost {len(self.lost)}, "
            f"unexpected {len(self.unexpected)}, duplicates {self.duplicates}"
        )


def ledger(receiver: "Receiver", path: str = "/hook") -> Ledger:
    """Expected: every delivery in the database; received: the ids the receiver accepted (2xx)."""
    accepted = [r.webhook_id for r in receiver.requests(path) if 200 <= r.status < 300]
    return Ledger({d.webhook_id for d in Delivery.objects.all()}, accepted)


def make_rule_with_target(url: str = "", *, pattern: dict | None = None, name: str = "r1", **target_fields) -> Target:
    """A rule on the default bus with one target (a webhook to `url` unless `kind="python"`)."""
    rule = Rule.objects.create(name=name, event_pattern=json.dumps(pattern or {"source": ["shop.orders"]}))
    fields = {"name": "t1", "url": url, **target_fields}
    target = Target.objects.create(rule=rule, **fields)
    routing_cache.invalidate()
    return target


def publish(count: int = 1, **detail) -> list[str]:
    """Publish `count` matching events (detail gets `n`); returns their event ids."""
    ids = []
    for start in range(0, count, 10):
        entries = [
            {"source": "shop.orders", "detail-type": "OrderCreated", "detail": {"n": n, **detail}}
            for n in range(start, min(count, start + 10))
        ]
        results = publish_entries(entries)
        assert all(r.ok for r in results), results
        ids += [r.event_id for r in results]
    return ids


def kill_delivery(
    delivery: Delivery, *, status: int | None = 503, error: str = "HTTP 503", reason: str = "maximum_retry_attempts"
) -> None:
    """Make a delivery a dead letter as if its retries ran out, with its last attempt in the history."""
    Delivery.objects.filter(pk=delivery.pk).update(
        state=Delivery.State.DEAD,
        attempts=3,
        last_status_code=status,
        last_error=error,
        dead_reason=reason,
        completed_at=timezone.now(),
    )
    DeliveryAttempt.objects.create(
        delivery=delivery, target=delivery.target, number=3, started_at=timezone.now(), status_code=status, error=error
    )


def lane_rule(name: str = "r1") -> Target:
    """A rule that only matches events published for it (detail.lane), so tests can aim at one target."""
    return make_rule_with_target(f"http://127.0.0.1:9/{name}", name=name, pattern={"detail": {"lane": [name]}})


def dead_letters_for(count: int = 1, target: Target | None = None, **kill) -> list[Delivery]:
    """Publish `count` events for the target's rule and turn their deliveries into dead letters."""
    target = target or lane_rule()
    before = set(Delivery.objects.values_list("id", flat=True))
    publish(count, lane=target.rule.name)
    fresh = list(Delivery.objects.exclude(id__in=before).select_related("target"))
    for delivery in fresh:
        kill_delivery(delivery, **kill)
    return fresh
