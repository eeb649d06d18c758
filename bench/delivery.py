"""End-to-end delivery figures: deliveries/s to a local receiver with 1 and 2 worker processes, and
publish-to-receipt latency at a steady publish rate.

    python bench/delivery.py [--events 20000] [--workers 1,2] [--concurrency 64]
                             [--rate 500] [--seconds 20] [--latency-workers 1] [--direct]
                             [--profile SECONDS] [--json out.json]

Everything runs privately: its own Redis, a scratch database (a new database on the PostgreSQL server
DATABASE_URL names, else a throwaway SQLite file), the receiver from chaos/receiver.py in its own
process, Daphne and `manage.py dispatch` workers. One rule routes every event to --targets webhooks
(default 1), each a path of its own on the receiver.

Throughput: a backlog of --events events is stored (and enqueued) with no worker running, then N
workers start; the rate is deliveries over the span from the first to the last completed delivery.
Latency: --latency-workers workers (default 1) and one Daphne run; a client POSTs batches of 10
events to /api/v1/events at --rate events/s for --seconds, each event carrying its send time; latency
is the receiver's arrival time minus that send time (publish -> commit -> Redis -> worker -> POST), also
given by leg: publish (send -> event accepted), queue (accepted -> attempt started), send (-> received).
With --direct the events are stored from this process (publish_entries, no Daphne), so the figure is
the worker's share: commit -> Redis -> worker -> POST, without the HTTP publish path in front of it.
--profile samples the first throughput worker with py-spy for that many seconds (raw stacks, with
the GIL holder only, written next to --json or to ./delivery-profile.txt) and prints a summary.
"""

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chaos.services import (  # noqa: E402
    PrivateRedis,
    Stack,
    base_env,
    create_schema,
    free_port,
    run_directory,
    scratch_database,
    wait_for,
)

BATCH = 10


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def start_receiver(workdir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = open(workdir / "receiver.log", "wb")  # noqa: SIM115 - owned by the child
    process = subprocess.Popen(
        [sys.executable, "-m", "chaos.receiver", "--port", str(port)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: _get(f"{base}/_stats") is not None, 20, "the receiver answering")
    return process, base


def _get(url: str) -> object | None:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return json.loads(response.read())
    except OSError:
        return None


def setup_rule(receiver: str, targets: int = 1) -> None:
    """One rule routing every event to `targets` webhooks on the receiver; called again, it adds or removes
    targets, so one stack can measure several fan-outs (workers and Daphne started later see the change)."""
    from dashboard.delivery.planning import routing_cache
    from dashboard.models import Rule, Target

    rule, _ = Rule.objects.get_or_create(name="bench", defaults={"event_pattern": '{"source": ["bench"]}'})
    paths = {"receiver": "bench"} | {f"receiver-{n}": f"bench-{n}" for n in range(2, targets + 1)}
    rule.targets.exclude(name__in=paths).delete()
    for name, path in paths.items():
        Target.objects.get_or_create(
            rule=rule, name=name, defaults={"url": f"{receiver}/t/{path}", "timeout_seconds": 10}
        )
    routing_cache.invalidate()


def fanout() -> int:
    """Deliveries per published event: the bench rule's targets."""
    from dashboard.models import Target

    return Target.objects.filter(rule__name="bench").count()


def store_backlog(count: int) -> None:
    from dashboard.ingest.publishing import publish_entries

    for start in range(0, count, BATCH):
        entries = [{"source": "bench", "detail-type": "Tick", "detail": {"n": start + i}} for i in range(BATCH)]
        publish_entries(entries)


def succeeded() -> int:
    from dashboard.models import Delivery

    return Delivery.objects.filter(state=Delivery.State.SUCCEEDED).count()


def throughput(
    stack: Stack, workers: int, events: int, concurrency: int, profile: Path | None = None, profile_seconds: float = 0
) -> dict:
    from dashboard.models import Delivery

    done_before = succeeded()
    store_backlog(events)
    since = time.time()
    first = len(stack.workers)
    for _ in range(workers):
        stack.start_worker("--concurrency", str(concurrency))
    for index in range(first, first + workers):
        stack.wait_worker_ready(index)
    started_cpu = sum(cpu_seconds(worker.pid) for worker in stack.workers[first:])  # Django's start-up aside
    if profile:
        sample_worker(stack.workers[first].pid, profile, profile_seconds)
    expected = events * fanout()
    wait_for(lambda: succeeded() >= done_before + expected, 600, "the backlog to drain", interval=0.5)
    cpu = sum(cpu_seconds(worker.pid) for worker in stack.workers[first:]) - started_cpu
    stack.stop_workers()
    completed = Delivery.objects.filter(state=Delivery.State.SUCCEEDED, completed_at__gte=_aware(since))
    times = sorted(completed.values_list("completed_at", flat=True))
    span = (times[-1] - times[0]).total_seconds()
    return {
        "workers": workers,
        "deliveries": len(times),
        "seconds": round(span, 2),
        "per_second": len(times) / span,
        # On a shared machine the rate follows the neighbours' load; the CPU a delivery costs does not.
        "worker_cpu_ms_per_delivery": 1000 * cpu / len(times),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process so far (Linux /proc), 0 where that is unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sample_worker(pid: int, output: Path, seconds: float) -> None:
    """py-spy's raw stacks of the thread holding the GIL, then the hottest leaves and areas."""
    from bench.profiling import py_spy, summarise

    subprocess.run(
        [py_spy(), "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "250", "--gil",
         "--format", "raw", "--output", str(output), "--nonblocking", "--full-filenames"],
        capture_output=True,
        timeout=seconds + 60,
    )  # fmt: skip
    if output.exists():
        summary = summarise(output.read_text())
        print(f"profile ({summary['samples']} samples, {output}):", flush=True)
        for name, share in summary["top_self"] + summary["areas"]:
            print(f"  {share:5.1f} %  {name}", flush=True)


def _aware(unix: float):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(unix, tz=UTC)


async def _publish_at_rate(url: str, auth: str, rate: float, seconds: float) -> int:
    """POST batches of 10 on a fixed schedule (not closed-loop), so a slow answer does not lower the rate."""
    sent = 0
    headers = {"Authorization": auth, "Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:

        async def post(n: int) -> None:
            entries = [
                {"source": "bench", "detail-type": "Tick", "detail": {"n": n + i, "sent_at": time.time()}}
                for i in range(BATCH)
            ]
            async with session.post(url, data=json.dumps({"entries": entries}), headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"publish answered {response.status}")

        tasks = []
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            tasks.append(asyncio.create_task(post(sent)))
            sent += BATCH
            await asyncio.sleep(max(0.0, start + (sent / rate) - time.monotonic()))
        await asyncio.gather(*tasks)
    return sent


def _store_at_rate(rate: float, seconds: float) -> int:
    """Store batches of 10 from this process on a fixed schedule: no HTTP publish path in front."""
    from dashboard.ingest.publishing import publish_entries

    sent = 0
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        batch = BATCH if rate >= 100 else 1
        sent_at = time.time()
        entries = [
            {"source": "bench", "detail-type": "Tick", "detail": {"n": sent + i, "sent_at": sent_at}}
            for i in range(batch)
        ]
        publish_entries(entries)
        sent += batch
        time.sleep(max(0.0, start + (sent / rate) - time.monotonic()))
    return sent


def latency(
    stack: Stack, receiver: str, rate: float, seconds: float, workers: int, concurrency: int, direct: bool = False
) -> dict:
    from dashboard.models import ApiKey

    key, secret = ApiKey.issue("bench", ["publish"])
    urllib.request.urlopen(urllib.request.Request(f"{receiver}/_reset", method="POST"), timeout=10).read()
    if not direct:
        stack.start_servers(1)
    first = len(stack.workers)
    for _ in range(workers):
        stack.start_worker("--concurrency", str(concurrency))
    for index in range(first, first + workers):
        stack.wait_worker_ready(index)
    time.sleep(0.5)
    done_before = succeeded()
    if direct:
        sent = _store_at_rate(rate, seconds)
    else:
        sent = asyncio.run(
            _publish_at_rate(f"{stack.url}/api/v1/events", f"Bearer {key.access_key_id}:{secret}", rate, seconds)
        )
    targets = fanout()
    wait_for(lambda: succeeded() >= done_before + sent * targets, 300, "every event delivered", interval=0.5)
    stack.stop_workers()
    if not direct:
        stack.stop_servers()
    records = _get(f"{receiver}/_records")
    latencies = [(r["received_at"] - r["sent_at"]) * 1000 for r in records if r.get("sent_at")]
    return {
        "rate": rate,
        "direct": direct,
        "workers": workers,
        "targets": targets,
        "seconds": seconds,
        "events": sent,
        "received": len(latencies),
        "p50_ms": percentile(latencies, 0.50),
        "p90_ms": percentile(latencies, 0.90),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": max(latencies) if latencies else float("nan"),
        "stages": _stages(records),
    }


def _stages(records: list[dict]) -> dict:
    """Where the latency goes, p50 / p99 ms of each leg: publish (client send -> the event accepted),
    queue (accepted -> its attempt starts: commit, hand-over to Redis, the worker's read and claim), send
    (attempt start -> the receiver has it)."""
    from dashboard.models import DeliveryAttempt
    from dashboard.models.deliveries import webhook_id

    arrived = {r["webhook_id"]: r["received_at"] for r in records if r.get("sent_at")}
    legs: dict[str, list[float]] = {"publish": [], "queue": [], "send": []}
    first_attempts = DeliveryAttempt.objects.filter(number=1, round=0, delivery__event__detail__has_key="sent_at")
    for delivery_id, started, accepted, detail in first_attempts.values_list(
        "delivery_id", "started_at", "delivery__event__received_at", "delivery__event__detail"
    ):
        receipt = arrived.get(webhook_id(delivery_id))
        if receipt is None:
            continue
        legs["publish"].append((accepted.timestamp() - detail["sent_at"]) * 1000)
        legs["queue"].append((started - accepted).total_seconds() * 1000)
        legs["send"].append((receipt - started.timestamp()) * 1000)
    return {leg: [percentile(values, 0.5), percentile(values, 0.99)] for leg, values in legs.items()}


@contextlib.contextmanager
def bench_stack(targets: int = 1) -> Iterator[tuple[Stack, str, int, str]]:
    """Everything private (Redis, the receiver, a scratch database with the bench rule and `targets` webhooks)
    with Django set up for it in this process, so call it once per process. Yields the stack (no Daphne or
    worker running yet), the receiver's URL and process id, and the database's kind."""
    with run_directory("eh-bench-delivery-") as workdir:
        redis_server = PrivateRedis(workdir / "redis").start()
        receiver_process, receiver = start_receiver(workdir)
        try:
            with scratch_database(os.environ.get("DATABASE_URL"), workdir) as database:
                env = base_env(database, redis_server.url)
                create_schema(env)
                os.environ.update(env)
                import django

                django.setup()
                setup_rule(receiver, targets)
                stack = Stack(env, workdir)
                try:
                    yield stack, receiver, receiver_process.pid, database.split(":", 1)[0]
                finally:
                    stack.close()
                from django.db import connections

                connections.close_all()
        finally:
            receiver_process.terminate()
            receiver_process.wait(10)
            redis_server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--latency-workers", type=int, default=1)
    parser.add_argument("--targets", type=int, default=1, help="webhooks per event (targets on the one rule)")
    parser.add_argument("--direct", action="store_true", help="store events in-process instead of POSTing them")
    parser.add_argument("--profile", type=float, default=0.0, help="py-spy seconds on the first throughput worker")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    with bench_stack(args.targets) as (stack, receiver, _receiver_pid, database):
        results = {"database": database, "throughput": [], "latency": None}
        profile = (args.json or Path("delivery.json")).with_suffix(".profile.txt") if args.profile else None
        for workers in (int(n) for n in args.workers.split(",") if n):
            row = throughput(stack, workers, args.events, args.concurrency, profile, args.profile)
            profile = None
            results["throughput"].append(row)
            print(
                f"{workers} worker(s): {row['per_second']:,.0f} deliveries/s "
                f"({row['deliveries']} in {row['seconds']} s; "
                f"worker CPU {row['worker_cpu_ms_per_delivery']:.2f} ms per delivery)",
                flush=True,
            )
        lat = latency(stack, receiver, args.rate, args.seconds, args.latency_workers, args.concurrency, args.direct)
        results["latency"] = lat
        print(
            f"{'stored directly' if lat['direct'] else 'published'} "
            f"at {lat['rate']:g} events/s for {lat['seconds']:g} s ({lat['events']} events, "
            f"{lat['workers']} worker(s), {lat['targets']} target(s)): "
            f"p50 {lat['p50_ms']:.1f} ms, p90 {lat['p90_ms']:.1f} ms, p99 {lat['p99_ms']:.1f} ms, "
            f"max {lat['max_ms']:.1f} ms; p50 / p99 by leg: "
            + ", ".join(f"{leg} {p50:.1f} / {p99:.1f}" for leg, (p50, p99) in lat["stages"].items()),
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
