"""`make bench`: measure EventHub on this machine and write docs/benchmarks/README.md plus PNG plots.

    python bench/report.py [--quick]

For the embedded default (SQLite) and, when DATABASE_URL names a PostgreSQL server, for PostgreSQL
(a scratch database on it): publish throughput (native API with batches of 1 and 10, boto3 put_events,
one and two Daphne processes) up to the knee (p99 > 500 ms), publish-to-webhook latency at 100 and
1,000 events/s and at half the knee, delivery throughput with 1, 2 and 4 worker processes, and issue
17's figures for the delivery engine (bench/delivery_engine.py); once: Celery 5 with the same worker
counts on the same Redis (a no-op task; and, with 2 processes on each database, a task doing the same
job: POST the event, record the outcome), and moto's pattern matcher. Every step runs for a fixed time,
so the whole report takes about fifteen minutes (`--quick`: about six).

The raw results go to docs/benchmarks/results.json; the issue 17 table shows each figure beside the
one the previous run stored there (read before it is replaced).
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import celery_peer, delivery_engine, publish  # noqa: E402
from chaos.services import PrivateRedis, run_directory  # noqa: E402

OUT = ROOT / "docs" / "benchmarks"
REPORT = OUT / "README.md"
RESULTS = OUT / "results.json"

# What the design started from (public figures; see the issue and shared/reference/reliability.md).
REFERENCES = [
    (
        "AWS EventBridge",
        "PutEvents quota 10,000 req/s per region (soft)",
        "under 1 s; measured ~148 ms p50 / 387 ms p99",
    ),
    ("Amazon SNS + SQS", "~300,000 msg/s", "~100 ms"),
    ("Apache Kafka (cluster)", "1,000,000+ msg/s", "under 10 ms"),
]
TARGETS = {
    "publish_batch10": 6_500,
    "e2e_p50_ms": 10.0,
    "e2e_p99_ms": 50.0,
    "celery_factor": 3.0,
    "celery_job_factor": 5.0,  # issue 17: against a Celery task doing the same job (POST + record)
}


def databases() -> list[tuple[str, str]]:
    """(label, base URL) pairs: SQLite always, PostgreSQL when DATABASE_URL points at it."""
    found = [("SQLite (embedded default)", "")]
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        found.append(("PostgreSQL", url))
    return found


def publish_series(database_url: str, quick: bool) -> list[dict]:
    seconds = 2.0 if quick else 3.0
    plans = [
        ("native", 1, 1, "1,4,16,32,64", 0.0),
        ("native", 10, 1, "1,4,16,32,64", 0.0 if quick else 4.0),
        ("boto3", 10, 1, "1,4,8,16,32", 0.0),
        ("native", 10, 2, "4,16,32,64", 0.0),
    ]
    if quick:
        plans = plans[:2] + plans[3:]
    series = []
    for mode, batch, servers, levels, profile in plans:
        series.append(
            publish.measure(
                batch, [int(c) for c in levels.split(",")], seconds, mode, servers, profile, database_url=database_url
            )
        )
    return series


def end_to_end(database_url: str, knee: float | None, quick: bool) -> dict:
    rates = [100, 1000] + ([round(knee / 2, -1)] if knee and abs(knee / 2 - 1000) > 100 else [])
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | (
        {"DATABASE_URL": database_url} if database_url else {}
    )
    with tempfile.TemporaryDirectory(prefix="eh-bench-e2e-") as scratch:
        output = Path(scratch) / "e2e.json"
        command = [
            sys.executable, str(ROOT / "bench" / "endtoend.py"), "--json", str(output),
            "--rates", ",".join(str(r) for r in rates), "--seconds", "4" if quick else "6",
            "--workers", "1,2,4", "--events", "3000" if quick else "6000", "--profile", "0" if quick else "4",
        ]  # fmt: skip
        subprocess.run(command, cwd=ROOT, env=env, check=True, timeout=900)
        return json.loads(output.read_text())


def engine(database_url: str, quick: bool) -> dict:
    """Issue 17's delivery engine figures, in a process of its own (it sets Django up for its scratch database)."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | (
        {"DATABASE_URL": database_url} if database_url else {}
    )
    with tempfile.TemporaryDirectory(prefix="eh-bench-engine-") as scratch:
        output = Path(scratch) / "engine.json"
        command = [sys.executable, str(ROOT / "bench" / "delivery_engine.py"), "--json", str(output)]
        subprocess.run(command + (["--quick"] if quick else []), cwd=ROOT, env=env, check=True, timeout=1800)
        return json.loads(output.read_text())


def previous_results() -> dict | None:
    """What the last run stored, read before this run replaces it."""
    try:
        return json.loads(RESULTS.read_text())
    except (OSError, ValueError):
        return None


def celery_rows(quick: bool) -> list[dict]:
    with run_directory("eh-bench-celery-") as directory:
        redis = PrivateRedis(directory).start()
        try:
            broker = redis.url.rsplit("/", 1)[0] + "/1"
            rows = [celery_peer.measure(broker, workers, 4000 if quick else 12_000) for workers in (1, 2, 4)]
        finally:
            redis.stop()
    for row in rows:
        row["delivering"] = {}
    # The peer doing EventHub's job (POST the event, record the outcome) with the 2 processes, on
    # each database (about 30 s each); a process per run, since it sets Django up for its scratch database.
    for label, url in databases():
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | ({"DATABASE_URL": url} if url else {})
        for row in [row for row in rows if row["workers"] == 2]:
            command = [sys.executable, str(ROOT / "bench" / "celery_peer.py"), "--deliver",
                       "--workers", str(row["workers"]), "--tasks", "2000" if quick else "5000"]  # fmt: skip
            done = subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=900)
            row["delivering"][label.split(" ")[0]] = json.loads(done.stdout.strip().splitlines()[-1])
    return rows


def pattern_rows() -> list[dict]:
    from bench import patterns

    return patterns.corpus_rows(patterns.moto_event_pattern())


# -- rendering ----------------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.1f}"


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def _label(series: dict) -> str:
    client = "boto3 put_events" if series["mode"] == "boto3" else "POST /api/v1/events"
    return f"{client}, batch {series['batch']}, {series['servers']} Daphne"


def plot(runs: list[dict], celery: list[dict]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for run in runs:
        for series in run["publish"]:
            xs = [level["concurrency"] for level in series["levels"]]
            label = f"{run['short']}: {_label(series)}"
            left.plot(xs, [level["events_per_s"] for level in series["levels"]], marker="o", label=label)
            if series["mode"] == "native" and series["batch"] == 10 and series["servers"] == 1:
                right.plot(xs, [level["p50_ms"] for level in series["levels"]], marker="o", label=f"{run['short']} p50")
                right.plot(xs, [level["p99_ms"] for level in series["levels"]], marker="x", label=f"{run['short']} p99")
    left.set(xscale="log", xlabel="concurrent clients", ylabel="events/s accepted", title="Publish throughput")
    right.set(xscale="log", yscale="log", xlabel="concurrent clients", ylabel="ms", title="Publish latency (batch 10)")
    right.axhline(500, color="grey", linestyle="--", linewidth=1)
    left.legend(fontsize=7)
    right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(OUT / "publish.png", dpi=110)
    plt.close(fig)
    files.append("publish.png")

    fig, axis = plt.subplots(figsize=(12, 4.5))
    labels, p50, p95, p99 = [], [], [], []
    for run in runs:
        for row in run["e2e"]["latency"]:
            labels.append(f"{run['short']}\n{row['rate']:,.0f}/s x{row['fanout']}")
            p50.append(row["p50_ms"] or 0)
            p95.append(row["p95_ms"] or 0)
            p99.append(row["p99_ms"] or 0)
    positions = range(len(labels))
    axis.bar([p - 0.27 for p in positions], p50, width=0.27, label="p50")
    axis.bar(list(positions), p95, width=0.27, label="p95")
    axis.bar([p + 0.27 for p in positions], p99, width=0.27, label="p99")
    axis.set_xticks(list(positions), labels, fontsize=7)
    axis.set(yscale="log", ylabel="ms, publish -> webhook received", title="End-to-end latency")
    axis.axhline(148, color="orange", linestyle=":", linewidth=1, label="EventBridge p50 (148 ms)")
    axis.axhline(387, color="red", linestyle=":", linewidth=1, label="EventBridge p99 (387 ms)")
    axis.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / "latency.png", dpi=110)
    plt.close(fig)
    files.append("latency.png")

    fig, axis = plt.subplots(figsize=(8, 4.5))
    width = 0.8 / (len(runs) + 1)
    counts = [row["workers"] for row in celery]
    for index, run in enumerate(runs):
        rates = {row["workers"]: row["deliveries_per_s"] for row in run["e2e"]["throughput"]}
        axis.bar(
            [c + (index - len(runs) / 2) * width for c in range(len(counts))],
            [rates.get(c, 0) for c in counts],
            width=width,
            label=f"EventHub deliveries/s ({run['short']})",
        )
    axis.bar([c + (len(runs) / 2) * width for c in range(len(counts))], [row["tasks_per_s"] for row in celery],
             width=width, label="Celery 5 no-op tasks/s")  # fmt: skip
    axis.set_xticks(range(len(counts)), [f"{c} process(es)" for c in counts])
    axis.set(ylabel="per second", title="Delivery throughput vs Celery, same worker processes")
    axis.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / "delivery.png", dpi=110)
    plt.close(fig)
    files.append("delivery.png")
    return files


def _profile_lines(title: str, profile: dict) -> list[str]:
    if not profile:
        return []
    if "error" in profile:
        return [f"**{title}**: not profiled ({profile['error']}).", ""]
    lines = [f"**{title}** ({profile['samples']:,} py-spy samples of active threads):", ""]
    lines.append("- by area: " + ", ".join(f"{name} {share:.0f} %" for name, share in profile["areas"] if share >= 1))
    lines.append(
        "- hottest functions (own time): "
        + ", ".join(f"`{name}` {share:.0f} %" for name, share in profile["top_self"][:8])
    )
    lines.append("")
    return lines


def render(
    runs: list[dict], celery: list[dict], patterns: list[dict], meta: dict, plots: list[str], previous: dict | None
) -> str:
    lines = [
        "# EventHub benchmarks",
        "",
        f"- Date: {meta['date']}; total run time {meta['seconds'] / 60:.1f} min; command: `make bench` "
        f"(`python bench/report.py{' --quick' if meta['quick'] else ''}`), which rewrites this file and the plots.",
        f"- Machine: {os.cpu_count()} cores, {platform.machine()}, {platform.system()}; Python "
        f"{platform.python_version()}; load average at start {meta['load_start']}, at end {meta['load_end']} "
        "(other work on the machine shows up here: numbers from a busy box are low and noisy).",
        "- Everything runs on this one machine: Daphne, dispatch workers, Redis (private `redis-server`), the "
        "database, the load generator (two client processes) and the webhook receiver (aiohttp, one process) "
        "share the cores.",
        "- Databases: " + ", ".join(run["label"] for run in runs) + ". Each measurement uses a fresh scratch database.",
        "",
        "## Where a single small box stands",
        "",
        "| System | Publish throughput | Publish -> delivery latency |",
        "|---|---:|---:|",
    ]
    for run in runs:
        knees = [s["knee"] for s in run["publish"] if s["knee"] and s["batch"] == 10]
        best = max(knees, key=lambda k: k["events_per_s"], default=None)
        at_1000 = next((r for r in run["e2e"]["latency"] if r["rate"] == 1000 and r["fanout"] == 1), None)
        latency = (
            f"p50 {_ms(at_1000['p50_ms'])} ms / p99 {_ms(at_1000['p99_ms'])} ms at 1,000 events/s" if at_1000 else "n/a"
        )
        lines.append(
            f"| **EventHub, this box, {run['label']}** | {_rate(best['events_per_s'] if best else None)} events/s "
            f"(knee, batches of 10) | {latency} |"
        )
    lines += [f"| {name} | {throughput} | {latency} |" for name, throughput, latency in REFERENCES]
    lines += ["", "Knee: the best throughput among concurrency levels whose p99 stayed within 500 ms.", ""]

    for run in runs:
        lines += [f"## Publish throughput: {run['label']}", ""]
        lines += ["| Client | Concurrency | events/s | requests/s | p50 ms | p95 ms | p99 ms | errors |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
        for series in run["publish"]:
            for level in series["levels"]:
                is_knee = series["knee"] is not None and level["concurrency"] == series["knee"]["concurrency"]
                lines.append(
                    f"| {_label(series)} | {level['concurrency']}{' (knee)' if is_knee else ''} "
                    f"| {_rate(level['events_per_s'])} | {_rate(level['requests_per_s'])} | {_ms(level['p50_ms'])} "
                    f"| {_ms(level['p95_ms'])} | {_ms(level['p99_ms'])} | {level['errors']} |"
                )
        lines.append("")
        for series in run["publish"]:
            lines += _profile_lines(f"Daphne at the knee, {_label(series)}", series.get("profile") or {})

    lines += ["## End-to-end latency (publish -> webhook received)", "",
              "Offered load from an open-loop generator in batches of 10 (batches of 1 below 100 events/s); 2 dispatch "
              "worker processes, 1 Daphne; latency per delivery = receiver clock - send time. When the published "
              "rate falls short of the offered one, or deliveries/s (below) is under the offered rate, the box is "
              "saturated and the latency is mostly queueing.", "",
              "| Database | Offered events/s | Published events/s | Targets per event | Deliveries | p50 ms | p95 ms "
              "| p99 ms | publish p99 ms |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for run in runs:
        for row in run["e2e"]["latency"]:
            lines.append(
                f"| {run['label']} | {row['rate']:,.0f} | {row['achieved_events_per_s']:,.0f} | {row['fanout']} "
                f"| {row['deliveries']:,} / "
                f"{row['expected_deliveries']:,} | {_ms(row['p50_ms'])} | {_ms(row['p95_ms'])} | {_ms(row['p99_ms'])} "
                f"| {_ms(row['publish_p99_ms'])} |"
            )
    lines += ["", "## Delivery throughput and the Celery peer", "",
              "EventHub: events published first, then N `manage.py dispatch` processes deliver them as signed webhooks "
              "to the local receiver (each delivery claimed in the database, POSTed, recorded, acknowledged). Celery "
              "5 (prefork, `--concurrency N`, same Redis, default prefetch), timed while the queue goes from 90 % to "
              "10 % full: a no-op task, and a task doing the same job (`bench/celery_peer.py --deliver`: POST the "
              "signed event with a pooled urllib3 client to the same receiver, record status and attempt count on "
              "the delivery's row with the ORM, acknowledged late) on each database. The delivery pipeline's own "
              "benchmark, with more runs and its cost breakdown, is in [delivery.md](delivery.md).", "",
              "| Worker processes | " + " | ".join(f"EventHub deliveries/s ({run['label']})" for run in runs)
              + " | Celery no-op tasks/s | Best EventHub / Celery no-op | "
              + " | ".join(f"Celery POST + record tasks/s ({run['short']}) | EventHub / Celery POST + record "
                           f"({run['short']})" for run in runs) + " |",
              "|---:|" + "---:|" * (3 * len(runs) + 2)]  # fmt: skip
    for celery_row in celery:
        ours = [
            next(
                (r["deliveries_per_s"] for r in run["e2e"]["throughput"] if r["workers"] == celery_row["workers"]), None
            )
            for run in runs
        ]
        best = max((o for o in ours if o), default=None)
        factor = f"{best / celery_row['tasks_per_s']:.2f}x" if best and celery_row["tasks_per_s"] else "n/a"
        peers = []
        for run, own in zip(runs, ours, strict=True):
            peer = (celery_row.get("delivering") or {}).get(run["short"], {}).get("tasks_per_s")
            peers += [_rate(peer), f"{own / peer:.2f}x" if own and peer else "n/a"]
        lines.append(
            f"| {celery_row['workers']} | "
            + " | ".join(_rate(o) for o in ours)
            + f" | {_rate(celery_row['tasks_per_s'])} | {factor} | "
            + " | ".join(peers)
            + " |"
        )
    lines.append("")
    for run in runs:
        for row in run["e2e"]["throughput"]:
            lines += _profile_lines(
                f"One dispatch worker of {row['workers']} ({run['label']})", row.get("profile") or {}
            )
    lines += ["## Pattern matching peer: moto", "",
              "From the pattern benchmark (`make bench-patterns` has the full table by rule count, in "
              "[patterns.md](patterns.md)): one precompiled pattern against its event, cycling over the "
              "AWS-validated corpus.", "",
              "| Engine | Matches/s (one core) | Corpus cases correct |", "|---|---:|---:|"]  # fmt: skip
    lines += [f"| {row['engine']} | {_rate(row['rate'])} | {row['correct']} / {row['cases']} |" for row in patterns]
    lines += [""] + delivery_engine.section({"runs": runs, "celery": celery}, previous)
    lines += ["## Targets (2-core machine with PostgreSQL)", ""]
    lines += targets_section(runs, celery)
    lines += ["", "## Plots", ""] + [f"![{name}]({name})" for name in plots] + [""]
    return "\n".join(lines)


def targets_section(runs: list[dict], celery: list[dict]) -> list[str]:
    postgres = next((run for run in runs if run["short"] == "PostgreSQL"), None)
    if postgres is None:
        return ["Not judged: the targets are for PostgreSQL and DATABASE_URL did not point at one."]
    best = max((s["knee"]["events_per_s"] for s in postgres["publish"] if s["knee"] and s["batch"] == 10), default=0)
    at_1000 = next((r for r in postgres["e2e"]["latency"] if r["rate"] == 1000 and r["fanout"] == 1), {})
    celery_by = {row["workers"]: row["tasks_per_s"] for row in celery}
    factors = {
        row["workers"]: row["deliveries_per_s"] / celery_by[row["workers"]]
        for row in postgres["e2e"]["throughput"]
        if celery_by.get(row["workers"])
    }
    peer_by = {
        row["workers"]: row["delivering"]["PostgreSQL"]["tasks_per_s"]
        for row in celery
        if (row.get("delivering") or {}).get("PostgreSQL")
    }
    ours_with_2 = next((r["deliveries_per_s"] for r in postgres["e2e"]["throughput"] if r["workers"] == 2), None)
    job_factor = ours_with_2 / peer_by[2] if ours_with_2 and peer_by.get(2) else None
    rows = [
        (f"≥ {TARGETS['publish_batch10']:,} events/s accepted with batches of 10", best >= TARGETS["publish_batch10"],
         f"{best:,.0f} events/s"),
        (f"p50 ≤ {TARGETS['e2e_p50_ms']:g} ms publish→delivery at 1,000 events/s",
         (at_1000.get("p50_ms") or 1e9) <= TARGETS["e2e_p50_ms"], f"{_ms(at_1000.get('p50_ms'))} ms"),
        (f"p99 ≤ {TARGETS['e2e_p99_ms']:g} ms publish→delivery at 1,000 events/s",
         (at_1000.get("p99_ms") or 1e9) <= TARGETS["e2e_p99_ms"], f"{_ms(at_1000.get('p99_ms'))} ms"),
        (f"delivery throughput ≥ {TARGETS['celery_factor']:g}x Celery with the same worker processes",
         bool(factors) and min(factors.values()) >= TARGETS["celery_factor"],
         ", ".join(f"{w} proc: {f:.2f}x" for w, f in sorted(factors.items()))),
        (f"delivery throughput ≥ {TARGETS['celery_job_factor']:g}x a Celery task doing the same job (POST + record), "
         "2 processes each", (job_factor or 0) >= TARGETS["celery_job_factor"],
         "n/a" if job_factor is None else f"{job_factor:.2f}x"),
    ]  # fmt: skip
    return [f"- {'met' if ok else '**missed**'}: {what} (measured {value})" for what, ok, value in rows]


def load_average() -> str:
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="shorter steps (about six minutes)")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args()
    previous = previous_results()
    began = time.monotonic()
    meta = {"date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"), "quick": args.quick,
            "load_start": load_average()}  # fmt: skip
    runs = []
    for label, url in databases():
        print(f"== {label}: publish", flush=True)
        series = publish_series(url, args.quick)
        knee = max((s["knee"]["events_per_s"] for s in series if s["knee"] and s["batch"] == 10), default=None)
        print(f"== {label}: end-to-end latency and delivery throughput", flush=True)
        e2e = end_to_end(url, knee, args.quick)
        print(f"== {label}: the delivery engine (issue 17)", flush=True)
        runs.append(
            {
                "label": label,
                "short": label.split(" ")[0],
                "publish": series,
                "e2e": e2e,
                "engine": engine(url, args.quick),
            }
        )
    print("== Celery peer", flush=True)
    celery = celery_rows(args.quick)
    print("== pattern peer (moto)", flush=True)
    patterns = pattern_rows()
    meta |= {"seconds": time.monotonic() - began, "load_end": load_average()}
    OUT.mkdir(parents=True, exist_ok=True)
    plots = plot(runs, celery)
    REPORT.write_text(render(runs, celery, patterns, meta, plots, previous), encoding="utf-8")
    raw = json.dumps({"runs": runs, "celery": celery, "patterns": patterns, "meta": meta}, indent=1)
    RESULTS.write_text(raw + "\n", encoding="utf-8")
    if args.json:
        args.json.write_text(raw)
    print(f"wrote {REPORT.relative_to(ROOT)}, {RESULTS.name} and {', '.join(plots)} in {meta['seconds'] / 60:.1f} min")


if __name__ == "__main__":
    main()
