"""Issue 17's figures for the delivery engine, measured for `make bench` and set against the previous run.

    python bench/delivery_engine.py [--quick] [--events N] [--seconds S] [--json out.json]

One private stack (bench/delivery.py's: its own Redis, the receiver, a scratch database from
DATABASE_URL, else SQLite; one rule, 2 `manage.py dispatch` workers) measures in turn:

- burst: a stored backlog of --events events to 1 target drained by 2 workers: deliveries/s and the
  workers' CPU per delivery (/proc utime + stime), and the receiver's CPU meanwhile;
- latency: 1,000 events/s published through one Daphne (open loop, batches of 10 every 10 ms) for
  --seconds, 1 target and then 3 targets on the rule: publish -> receipt p50 and p99;
- publishing while draining: a backlog sized to outlast the window is stored, 2 workers start on it
  and 32 clients in this process POST batches of 10 as fast as they are answered: events/s accepted
  (after a one-second warm-up of Daphne, as bench/publish.py does).

The CPU shares of the receiver and of the load generator (this process) are given as a share of the
whole machine (all its cores) over the time they were measured. `make bench` (bench/report.py) runs
this once per database in a process of its own and renders `section()` into its report.
"""

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import delivery, publish  # noqa: E402

WORKERS = 2
CONCURRENCY = 64  # per worker, as bench/delivery.py
RATE = 1000.0
PUBLISHERS = 32
PLANS = {
    False: {"events": 20_000, "seconds": 10.0, "publish_seconds": 8.0},
    True: {"events": 4_000, "seconds": 4.0, "publish_seconds": 3.0},
}
HAS_PROC = Path("/proc/self/stat").exists()


def share(cpu: float, wall: float) -> float | None:
    """CPU seconds as a share (%) of the whole machine over `wall` seconds; None where /proc is missing."""
    return 100 * cpu / (wall * (os.cpu_count() or 1)) if HAS_PROC and wall > 0 else None


def burst(stack, receiver_pid: int, events: int) -> dict:
    receiver_before = delivery.cpu_seconds(receiver_pid)
    row = delivery.throughput(stack, WORKERS, events, CONCURRENCY)
    return row | {"receiver_share": share(delivery.cpu_seconds(receiver_pid) - receiver_before, row["seconds"])}


def latency(stack, receiver: str, receiver_pid: int, targets: int, seconds: float) -> dict:
    delivery.setup_rule(receiver, targets)
    receiver_before, own_before = delivery.cpu_seconds(receiver_pid), time.process_time()
    row = delivery.latency(stack, receiver, RATE, seconds, WORKERS, CONCURRENCY)
    receiver_cpu = delivery.cpu_seconds(receiver_pid) - receiver_before
    delivery.setup_rule(receiver, 1)
    # The receiver works from the first send until the last receipt (at most the slowest latency after the
    # window); the load generator is this process, over the publish window.
    return row | {
        "receiver_share": share(receiver_cpu, seconds + row["max_ms"] / 1000),
        "load_generator_share": share(time.process_time() - own_before, seconds),
    }


def publish_while_draining(stack, receiver_pid: int, backlog: int, seconds: float) -> dict:
    from dashboard.models import ApiKey

    key, secret = ApiKey.issue("bench-draining", ["publish"])
    url, auth = f"{stack.url}/api/v1/events", f"Bearer {key.access_key_id}:{secret}"
    done_before = delivery.succeeded()
    stack.start_servers(1)
    # Warm-up (imports, pools, caches), as bench/publish.py does; what it publishes joins the backlog.
    warm_up, _ = asyncio.run(publish._native_clients(url, auth, 10, 4, 1.0))
    delivery.store_backlog(backlog)
    first = len(stack.workers)
    for _ in range(WORKERS):
        stack.start_worker("--concurrency", str(CONCURRENCY))
    for index in range(first, first + WORKERS):
        stack.wait_worker_ready(index)
    delivered_before = delivery.succeeded()
    receiver_before, own_before = delivery.cpu_seconds(receiver_pid), time.process_time()
    began = time.perf_counter()
    answered, errors = asyncio.run(publish._native_clients(url, auth, 10, PUBLISHERS, seconds))
    elapsed = time.perf_counter() - began
    own_cpu, receiver_cpu = time.process_time() - own_before, delivery.cpu_seconds(receiver_pid) - receiver_before
    delivered = delivery.succeeded()
    stack.stop_workers()
    stack.stop_servers()
    accepted = 10 * len(answered)
    return {
        "backlog": backlog,
        "seconds": round(elapsed, 2),
        "events_per_s": accepted / elapsed,
        "errors": errors,
        "deliveries_per_s": (delivered - delivered_before) / elapsed,
        # Above 0, the workers still had work when publishing stopped: they delivered throughout the window.
        "left_when_publishing_stopped": backlog + 10 * len(warm_up) + accepted - (delivered - done_before),
        "receiver_share": share(receiver_cpu, elapsed),
        "load_generator_share": share(own_cpu, elapsed),
    }


def measure(events: int, seconds: float, publish_seconds: float) -> dict:
    """Every figure on one private stack (it sets Django up: call it once per process)."""
    with delivery.bench_stack() as (stack, receiver, receiver_pid, database):
        print(f"  burst of {events:,} events, {WORKERS} workers", flush=True)
        results = {"database": database, "burst": burst(stack, receiver_pid, events), "latency": {}}
        for targets in (1, 3):
            print(f"  {RATE:,.0f} events/s for {seconds:g} s, {targets} target(s)", flush=True)
            results["latency"][str(targets)] = latency(stack, receiver, receiver_pid, targets, seconds)
        # Enough backlog for the workers to stay busy through the window at the rate the burst reached.
        backlog = max(events, int(results["burst"]["per_second"] * (publish_seconds + 5)))
        print(f"  publishing for {publish_seconds:g} s while {WORKERS} workers drain {backlog:,} events", flush=True)
        results["draining"] = publish_while_draining(stack, receiver_pid, backlog, publish_seconds)
    return results


# -- the report's table -------------------------------------------------------------------------------

# Issue 17's "Where it stands" (measured outside `make bench`, three runs, ranges over the runs): the
# previous values until a run has stored its own in docs/benchmarks/results.json.
BASELINE = {
    "PostgreSQL": {
        "deliveries_per_s": "1,213–1,630",
        "celery_per_s": "689–742",
        "celery_factor": "1.7–2.3×",
        "p50_1_ms": "39–223 ms",
        "p99_1_ms": "128–606 ms",
        "p99_3_ms": "9,400 ms",
        "accepted_while_draining": "1,661",
        "worker_cpu_ms": "0.7 ms",
    },
    "SQLite": {"deliveries_per_s": "1,138", "p50_1_ms": "2,085 ms", "p99_1_ms": "3,305 ms"},
}
BASELINE_NOTE = (
    "Previous: issue 17's “Where it stands” table, hard-coded in `bench/delivery_engine.py` (measured "
    "outside `make bench`, three runs; ranges are over the runs) because no earlier "
    "`docs/benchmarks/results.json` held these figures."
)

# (key, what, unit, {database: (target text, test)}): a database without a target reports the figure only.
ROWS = [
    ("deliveries_per_s", "deliveries/s, 2 workers, 1 target (burst from a stored backlog)", "/s",
     {"PostgreSQL": ("≥ 4,000", lambda v: v >= 4000), "SQLite": ("≥ 2,500", lambda v: v >= 2500)}),
    ("celery_per_s", "Celery peer doing the same job (POST + record, prefork -c 2), tasks/s", "/s", {}),
    ("celery_factor", "EventHub / Celery peer", "×", {"PostgreSQL": ("≥ 5×", lambda v: v >= 5)}),
    ("p50_1_ms", "publish → receipt p50 at 1,000 events/s, 1 target", "ms",
     {"PostgreSQL": ("≤ 10 ms", lambda v: v <= 10)}),
    ("p99_1_ms", "publish → receipt p99 at 1,000 events/s, 1 target", "ms",
     {"PostgreSQL": ("≤ 50 ms", lambda v: v <= 50), "SQLite": ("≤ 100 ms", lambda v: v <= 100)}),
    ("publish_leg_1_ms", "… of which publish (send → event accepted), p50, 1 target", "ms", {}),
    ("queue_leg_1_ms", "… queue (accepted → attempt starts: commit, Redis, read, claim), p50, 1 target", "ms", {}),
    ("send_leg_1_ms", "… send (attempt starts → receipt), p50, 1 target", "ms", {}),
    ("p99_3_ms", "publish → receipt p99 at 1,000 events/s, 3 targets", "ms",
     {"PostgreSQL": ("≤ 100 ms", lambda v: v <= 100)}),
    ("accepted_while_draining", "events/s accepted while 2 workers drain a backlog", "/s",
     {"PostgreSQL": ("≥ 5,000", lambda v: v >= 5000)}),
    ("worker_cpu_ms", "worker CPU per delivery (/proc utime + stime, burst)", "ms",
     {"PostgreSQL": ("≤ 0.2 ms", lambda v: v <= 0.2)}),
    ("receiver_share_burst", "receiver's CPU, share of the machine, during the burst", "%", {}),
    ("receiver_share_1", "receiver's CPU share at 1,000 events/s, 1 target", "%", {}),
    ("load_generator_share_1", "load generator's CPU share at 1,000 events/s, 1 target", "%", {}),
    ("receiver_share_draining", "receiver's CPU share while publishing during the drain", "%", {}),
    ("load_generator_share_draining", "load generator's CPU share while publishing during the drain", "%", {}),
]  # fmt: skip


def figures(results: dict, short: str) -> dict[str, float | bool | None]:
    """The table's figures for one database from a report's raw results (docs/benchmarks/results.json)."""
    run = next((run for run in results.get("runs", []) if run.get("short") == short), {})
    engine = run.get("engine") or {}
    if not engine:
        return {}
    burst_row, one, three = engine["burst"], engine["latency"]["1"], engine["latency"]["3"]
    peer = next(
        (row["delivering"][short]["tasks_per_s"] for row in results.get("celery", [])
         if row["workers"] == WORKERS and short in (row.get("delivering") or {})),
        None,
    )  # fmt: skip
    ours = burst_row["per_second"]
    return {
        "deliveries_per_s": ours,
        "celery_per_s": peer,
        "celery_factor": ours / peer if ours and peer else None,
        "p50_1_ms": one["p50_ms"],
        "p99_1_ms": one["p99_ms"],
        "p99_3_ms": three["p99_ms"],
        **{f"{leg}_leg_1_ms": p50 for leg, (p50, _) in one.get("stages", {}).items()},
        "accepted_while_draining": engine["draining"]["events_per_s"],
        "worker_cpu_ms": burst_row["worker_cpu_ms_per_delivery"],
        "receiver_share_burst": burst_row["receiver_share"],
        "receiver_share_1": one["receiver_share"],
        "load_generator_share_1": one["load_generator_share"],
        "receiver_share_draining": engine["draining"]["receiver_share"],
        "load_generator_share_draining": engine["draining"]["load_generator_share"],
        "drained_early": engine["draining"]["left_when_publishing_stopped"] <= 0,
    }


def _show(value: float | None, unit: str) -> str:
    if value is None or value != value:  # None or NaN
        return "n/a"
    if unit == "/s":
        return f"{value:,.0f}"
    if unit == "×":
        return f"{value:.2f}×"
    if unit == "%":
        return f"{value:.0f} %"
    return f"{value:,.2f} ms" if value < 10 else f"{value:,.0f} ms"


def section(current: dict, previous: dict | None) -> list[str]:
    """The "Issue 17: the delivery engine" table: per database, target, measured, previous, met/missed."""
    shorts = [run["short"] for run in current["runs"] if run.get("engine")]
    before = {short: figures(previous or {}, short) for short in shorts}
    from_file = any(before.values())
    if from_file:
        meta = previous.get("meta", {})
        note = (f"Previous: the run of {meta.get('date', 'unknown date')}"
                f"{' (`--quick`)' if meta.get('quick') else ''}, read from `docs/benchmarks/results.json` before "
                "this run replaced it.")  # fmt: skip
    else:
        note = BASELINE_NOTE
    lines = [
        "## Issue 17: the delivery engine",
        "",
        "Measured by `bench/delivery_engine.py` on a private stack per database (2 dispatch workers, 1 Daphne, "
        "the receiver `chaos/receiver.py`; publish → receipt is the receiver's clock minus the send time, "
        "published open loop in batches of 10 every 10 ms). Deliveries/s is the span from the first to the "
        "last delivery of the stored backlog; the Celery peer is the POST + record task of the section above "
        "with 2 processes. CPU shares are of the whole machine (all cores) over the measured window: the "
        "receiver and the load generator run on the same cores as EventHub. " + note,
        "",
        "| Database | Figure | Target | Measured | Previous | |",
        "|---|---|---:|---:|---:|---|",
    ]
    for short in shorts:
        now = figures(current, short)
        for key, what, unit, targets in ROWS:
            target, test = targets.get(short, ("—", None))
            value = now.get(key)
            if test is None:
                verdict = "reported"
            elif value is None or value != value:
                verdict = "**missed** (not measured)"
            else:
                verdict = "met" if test(value) else "**missed**"
            old = _show(before[short].get(key), unit) if from_file else BASELINE.get(short, {}).get(key, "—")
            shown = _show(value, unit)
            if key == "accepted_while_draining" and now["drained_early"]:
                shown += " (the backlog ran out before publishing stopped)"
            lines.append(f"| {short} | {what} | {target} | {shown} | {old} | {verdict} |")
    lines.append("")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smaller backlog and shorter windows")
    parser.add_argument("--events", type=int, help="backlog for the burst (default 20,000; --quick 4,000)")
    parser.add_argument("--seconds", type=float, help="each latency and publishing window (default 10 / 8 s)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    plan = dict(PLANS[args.quick])
    if args.events:
        plan["events"] = args.events
    if args.seconds:
        plan |= {"seconds": args.seconds, "publish_seconds": args.seconds}
    results = measure(**plan) | {"plan": plan}
    text = json.dumps(results, indent=1)
    if args.json:
        args.json.write_text(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
