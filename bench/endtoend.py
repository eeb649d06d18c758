"""Publish-to-webhook latency at fixed offered rates, and delivery throughput with 1, 2 and 4 workers.

    python bench/endtoend.py [--rates 100,1000] [--seconds 8] [--workers 1,2,4] [--events 8000] [--json out]

Runs one stack (private Redis, scratch database from DATABASE_URL or SQLite, one Daphne, the chaos
harness's receiver) in this process. Latency is the receiver's clock minus the publisher's send time
(`detail.sent_at`, same machine), per delivery, for 1 rule -> 1 target and 1 event -> 3 targets.
Throughput: events are published with no worker running, then N workers start, and deliveries/s is
timed from the first webhook received to the last.
"""

import argparse
import json
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.profiling import profile_process  # noqa: E402
from chaos import fixtures  # noqa: E402
from chaos.services import wait_for  # noqa: E402
from chaos.world import World  # noqa: E402

# Production timings (the chaos scenarios compress them): no sweeps or takeovers interfere with a measurement.
PRODUCTION_KNOBS = {
    "EVENTHUB_VISIBILITY_TIMEOUT_SECONDS": "70",
    "EVENTHUB_RECLAIM_INTERVAL_SECONDS": "5",
    "EVENTHUB_SWEEP_INTERVAL_SECONDS": "5",
    "EVENTHUB_SWEEP_GRACE_SECONDS": "60",
}
FANOUTS = {1: ("E2EOne", ["one"]), 3: ("E2EThree", ["three-a", "three-b", "three-c"])}


def percentile(values: list[float], q: float) -> float | None:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else None


def latencies(records: list[dict], event_prefix: str) -> list[float]:
    first: dict[str, float] = {}
    for record in records:
        event_id = record.get("event_id") or ""
        if event_id.startswith(event_prefix) and record.get("status") == 200 and record.get("sent_at"):
            latency = record["received_at"] - record["sent_at"]
            first[record["webhook_id"]] = min(first.get(record["webhook_id"], latency), latency)
    return list(first.values())


def end_to_end(world: World, rate: float, fanout: int, seconds: float) -> dict:
    detail_type, targets = FANOUTS[fanout]
    prefix = f"f{fanout}r{int(rate)}"
    run = world.load(rate=rate, seconds=seconds, batch=10 if rate >= 100 else 1, prefix=prefix, detail_type=detail_type)
    attempts = run.wait(seconds + 120)
    world.wait_settled(120, prefix)
    values = latencies(world.received(), prefix + "-")
    publish = [a.latency_ms for a in attempts if a.latency_ms is not None]
    acked = sum(a.outcome == "ack" for a in attempts)
    row = {
        "rate": rate,
        "fanout": fanout,
        "events": acked,
        "deliveries": len(values),
        "expected_deliveries": acked * len(targets),
        "achieved_events_per_s": acked / seconds,
        "publish_p50_ms": percentile(publish, 0.5),
        "publish_p99_ms": percentile(publish, 0.99),
    }
    for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        value = percentile(values, q)
        row[f"{name}_ms"] = None if value is None else value * 1000
    print(
        f"  end-to-end {rate:>6.0f} events/s x{fanout}: p50 {row['p50_ms']:.1f} ms  p95 {row['p95_ms']:.1f} ms  "
        f"p99 {row['p99_ms']:.1f} ms  ({row['deliveries']} deliveries)",
        flush=True,
    )
    return row


def delivery_throughput(world: World, workers: int, events: int, profile_seconds: float = 0.0) -> dict:
    prefix = f"w{workers}"
    run = world.load(rate=4000, total_events=events, batch=10, prefix=prefix, detail_type="E2EOne", max_in_flight=16)
    run.wait(300)
    for _ in range(workers):
        world.stack.start_worker()
    profile: dict = {}
    if profile_seconds:
        # Sampled while the backlog drains: what one worker process spends its time on.
        sampler = threading.Thread(
            target=lambda: profile.update(profile_process(world.stack.workers[0].pid, profile_seconds)), daemon=True
        )
        world.stack.wait_worker_ready(0)
        time.sleep(0.5)
        sampler.start()

    def all_received() -> bool:
        return len(latencies(world.received(), prefix + "-")) >= run.acknowledged

    wait_for(all_received, 300, f"{run.acknowledged} deliveries with {workers} workers", interval=0.5)
    times = sorted(
        r["received_at"]
        for r in world.received()
        if (r.get("event_id") or "").startswith(prefix) and r["status"] == 200
    )
    if profile_seconds:
        sampler.join(profile_seconds + 60)
    world.stack.stop_workers()
    world.stack.workers.clear()
    world.stack.worker_args.clear()
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else float("nan")
    print(f"  delivery with {workers} worker process(es): {rate:.0f} deliveries/s over {len(times)}", flush=True)
    return {"workers": workers, "deliveries": len(times), "deliveries_per_s": rate, "profile": profile}


def measure(rates: list[float], seconds: float, worker_counts: list[int], events: int, profile: float = 0.0) -> dict:
    with World("bench", knobs=PRODUCTION_KNOBS) as world:
        world.stack.start_servers(1)
        for fanout, (detail_type, targets) in FANOUTS.items():
            world.route(
                {name: {"timeout_seconds": 5.0} for name in targets}, detail_type=detail_type, rule=f"x{fanout}"
            )
        throughput = [
            delivery_throughput(world, count, events, profile if count == max(worker_counts) else 0.0)
            for count in worker_counts
        ]
        for _ in range(2):
            world.stack.start_worker()
        time.sleep(2)
        latency = [end_to_end(world, rate, fanout, seconds) for fanout in FANOUTS for rate in rates]
        database = "postgresql" if world.database_url.startswith("postgres") else "sqlite"
        fixtures.close_connections()
    return {"database": database, "latency": latency, "throughput": throughput}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="100,1000", help="offered events/s, comma-separated")
    parser.add_argument("--seconds", type=float, default=8.0, help="per latency measurement")
    parser.add_argument("--workers", default="1,2,4", help="worker process counts for the throughput runs")
    parser.add_argument("--events", type=int, default=8000, help="events per throughput run")
    parser.add_argument("--profile", type=float, default=0.0, help="py-spy seconds on one worker (largest count)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = measure(
        [float(r) for r in args.rates.split(",") if r],
        args.seconds,
        [int(w) for w in args.workers.split(",") if w],
        args.events,
        args.profile,
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
