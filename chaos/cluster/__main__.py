"""EventHub on several hosts: network namespaces on this machine, one host cut off and restored, and
delivery throughput with one worker host against two. Needs root (`ip netns`).

    python -m chaos.cluster            # full size (`make cluster`), rewrites docs/benchmarks/cluster.md
    python -m chaos.cluster --short    # the size `make test` runs (tests/ops/test_cluster_hosts.py)

Exit status 0 when every check passed, 1 when one failed, 2 when namespaces are unavailable here.
"""

import argparse
import json
import os
import platform
import signal
import sys
import time
from pathlib import Path

from chaos.services import ROOT, PrivatePostgres, run_directory

from . import network
from .hosts import IDLE_IN_TRANSACTION_TIMEOUT, Cluster
from .scenario import burst_throughput, partition, stream_capacity

REPORT = ROOT / "docs" / "benchmarks" / "cluster.md"
SIZES = {
    "short": {"burst": 2000, "rounds": 1, "stream_entries": 20_000},
    "full": {"burst": 10_000, "rounds": 2, "stream_entries": 100_000},
}


def run(short: bool, tag: str | None) -> dict:
    size = SIZES["short" if short else "full"]
    began = time.monotonic()
    with run_directory("eh-cluster-") as workdir, Cluster(workdir, workers=2, tag=tag) as cluster:
        cluster.route()
        cluster.start_web(cluster.worker_roles)
        for role in cluster.worker_roles:
            cluster.start_worker(role)
        cluster.wait_workers_ready(cluster.worker_roles)
        results = {
            "subnet": str(cluster.network.subnet),
            "hosts": {role: host.address for role, host in cluster.network.hosts.items()},
            "knobs": cluster.knobs,
            "partition": partition(cluster, short),
            "throughput": [],
        }
        for round_number in range(size["rounds"]):
            for hosts in (1, 2):
                prefix = f"b{round_number}w{hosts}"
                results["throughput"].append(
                    burst_throughput(cluster, cluster.worker_roles[:hosts], size["burst"], prefix)
                )
        results["stream"] = stream_capacity(cluster, size["stream_entries"])
    results["seconds"] = round(time.monotonic() - began, 1)
    results["passed"] = all(ok for _, ok, _ in results["partition"]["checks"])
    return results


def summary(results: dict) -> str:
    lines = [f"{'PASS' if ok else 'FAIL'}  {what}: {detail}" for what, ok, detail in results["partition"]["checks"]]
    for cut in results["partition"]["cuts"]:
        lines.append(f"cut {json.dumps(cut)}")
    for burst in results["throughput"]:
        lines.append(
            f"burst: {burst['worker_hosts']} worker host(s), {burst['delivered']} delivered, "
            f"{burst['deliveries_per_s']} deliveries/s"
        )
    lines.append(f"one Redis stream: {json.dumps(results['stream'])}")
    lines.append(f"{'PASSED' if results['passed'] else 'FAILED'} in {results['seconds']} s")
    return "\n".join(lines)


def report(results: dict) -> str:
    part = results["partition"]
    knobs = results["knobs"]
    verdict = part["verdict"]
    rows = "\n".join(
        f"| {c['host']} | {c['cut_s']} | {c['held']} ({c['held_leased']} in flight) | "
        f"{c['claimed_s_min']} to {c['claimed_s_max']} | "
        f"{c['delivered_elsewhere']}, last at {c['delivered_s_max']} | {c['takeovers_per_s']} | "
        f"{c['after_leases_ran_out'].get('open_transactions_of_cut_host')} open / "
        f"{c['after_leases_ran_out'].get('sessions_waiting_on_locks')} waiting | "
        f"{c['victim_acks_after_restore']} / {c['victim_deliveries_after_restore']} |"
        for c in part["cuts"]
    )
    by_hosts: dict[int, list[float]] = {}
    for burst in results["throughput"]:
        by_hosts.setdefault(burst["worker_hosts"], []).append(burst["deliveries_per_s"])
    bursts = "\n".join(
        f"| {b['worker_hosts']} | {b['events']} | {b['delivered']} | {b['duplicated']} | {b['deliveries_per_s']} | "
        f"{b['drain_s']} | {b['load_average']} |"
        for b in results["throughput"]
    )
    one, two = (sum(by_hosts[n]) / len(by_hosts[n]) for n in (1, 2))
    stream = results["stream"]
    benchmark = (
        f"redis-benchmark XADD (`-c 50 -P 16`): {stream['redis_benchmark_xadd']}."
        if "redis_benchmark_xadd" in stream
        else ""
    )
    checks = "\n".join(f"- {'PASS' if ok else 'FAIL'}: {what} ({detail})" for what, ok, detail in part["checks"])
    return f"""# EventHub on several hosts

Written by `make cluster` (`python -m chaos.cluster`, as root) on {time.strftime("%Y-%m-%d")}, {os.cpu_count()} cores,
{platform.platform()}. `tests/ops/test_cluster_hosts.py` runs the same at a smaller size in `make test`.

## Set-up

Four hosts as Linux network namespaces on one machine, joined by a bridge in a private subnet
({results["subnet"]}) that only they use: `db` runs a throwaway PostgreSQL cluster and Redis; `h1` and `h2` each
run Daphne (`python -m daphne -b <host address> -p 8000 eventhub.asgi:application`) and one dispatch worker
(`manage.py dispatch --name h<n>`); `rx` runs the webhook receiver (chaos/receiver.py). The driver
publishes from the root namespace through both Daphnes (native API) and checks
the result with the chaos ledger (chaos/ledger.py). Clock knobs: visibility timeout
{knobs["EVENTHUB_VISIBILITY_TIMEOUT_SECONDS"]} s, reclaim every {knobs["EVENTHUB_RECLAIM_INTERVAL_SECONDS"]} s,
sweep every {knobs["EVENTHUB_SWEEP_INTERVAL_SECONDS"]} s (grace {knobs["EVENTHUB_SWEEP_GRACE_SECONDS"]} s).
PostgreSQL runs with `idle_in_transaction_session_timeout = {IDLE_IN_TRANSACTION_TIMEOUT}`: without it, a host
cut off between two statements of a transaction keeps that session, and its row locks, until it comes back
(the server would notice a dead peer only after its TCP keepalive, two hours by default), and the takeover of
those rows waits for it. A run without the timeout saw a takeover blocked on such a lock and deliveries
the cut host held delivered only after it was restored; set it (or `tcp_keepalives_*`) in production too.
The whole machine is shared: PostgreSQL, Redis, two Daphnes, two workers, the receiver and the load generator
all run on the same {os.cpu_count()} cores.

## A host cut off

{part["rate"]} events/s, half through each Daphne, for {part["seconds"]:g} s; the receiver answers after
{part["answer_delay_s"]:g} s so every worker has deliveries in hand (at most 32 per worker in this phase,
`EVENTHUB_DISPATCH_CONCURRENCY=32`). Each worker host in turn is cut off (`ip link set <its veth> down`) for
longer than the visibility timeout, then restored. "Held" are the deliveries behind the cut host's Redis
pending entries at the cut that were unfinished in the database (in flight: leased to the cut host). "Claimed"
is when the other host's `XAUTOCLAIM` took each entry (the driver polls `XPENDING` every 0.1 s; a worker
claims only while it has room, and the sweeper re-enqueues a delivery whose lease is overdue by the grace,
so a delivery may be taken over through a new entry while its old one stays pending); "delivered" is when
the other host started its successful attempt. The PostgreSQL row shows what the database saw of
the cut host's connections once its leases had run out: transactions left open by the cut (their row locks
would stall a takeover of the same rows until the host came back), and sessions waiting on a lock.

| cut host | cut (s) | deliveries held | claimed by the other host (s after the cut) | delivered by it \
(s after the cut) | takeovers/s | PostgreSQL: cut host's transactions / lock waits | acks / deliveries by the \
cut host after restore |
|---|---|---|---|---|---|---|---|
{rows}

Taken-over deliveries are sent one at a time, each recorded before the next (so a poison event that kills
workers takes down only itself; dashboard/delivery/worker.py), and the taking-over worker reads nothing new
meanwhile. The first claim comes when the visibility timeout runs out; the rest follow one target round
trip plus one commit apart (the takeovers/s column). A host that holds many deliveries when it disappears
(its attempts in flight, up to `EVENTHUB_DISPATCH_CONCURRENCY`, 64 by default, plus sent ones not yet
recorded, up to `EVENTHUB_DISPATCH_PREFETCH` in all) is therefore taken over in about visibility timeout +
held x (target latency + a commit): a run with 0.2 s answers and 64 held had its last one delivered 24 s
after the cut.

Ledger over the whole stream: {verdict["attempted"]} attempted, {verdict["acknowledged"]} acknowledged,
{verdict["delivered"]} delivered, **lost {verdict["lost"]}**, unexpected {verdict["unexpected"]}, duplicated
{verdict["duplicated"]} (at-least-once: an answer lost with the link means the delivery is sent again),
recovered {verdict["recovered"]} (publishes whose answer never came back but which were stored),
dead-lettered {verdict["dead_lettered"]}. Publishes to the cut host's Daphne time out (outcome unknown), as
they would behind a load balancer until its health check takes the host out.

{checks}

## Delivery throughput: one worker host against two

A burst of events is published while no worker runs, then the workers of one host (or both, started
together) drain it; deliveries/s over the middle 80 % of the drain (the receiver's answer times), so
start-up is left out. Rounds alternate.

| worker hosts | events | delivered | duplicated | deliveries/s | drain incl. start-up (s) | load average |
|---|---|---|---|---|---|---|
{bursts}

Mean: {one:.0f} deliveries/s with one worker host, {two:.0f} with two ({two / one:.2f}x). Read this with the
machine in mind: every host's processes (PostgreSQL, Redis, two Daphnes, the workers, the receiver, the
load generator) share the same {os.cpu_count()} cores, and the load average column shows how busy they were
(other jobs on the machine included). A second worker host adds a process, not cores: what it can add is
a second Python process and event loop, as one worker is bound by one core's Python while it waits on the
receiver, Redis and PostgreSQL. Single runs vary a lot on this shared machine (repeat before comparing),
and how throughput grows with real machines is not measured here. What the bursts do show is that two
workers on two hosts drain one queue together, every event delivered (duplicates counted in the table).

## One Redis stream

From the driver over the bridge, with the transport's own pipelining: XADD {stream["xadd_per_s"]} entries/s,
XREADGROUP (COUNT 100) + XACK {stream["xreadgroup_xack_per_s"]} entries/s ({stream["entries"]} entries).
{benchmark}
The stream carries only delivery ids, so it takes and gives entries at many times the delivery rate above:
it is not the bottleneck here, and Redis Cluster (README, "Scale-out") is not implemented.

Run: `sudo make cluster` (or `python -m chaos.cluster` as root); {results["seconds"]:g} s for this run.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="the size make test runs; does not rewrite the report")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--tag", help="names the run's namespaces and links (default: this process's pid)")
    args = parser.parse_args()
    reason = network.unavailable() or PrivatePostgres.available()
    if reason:
        print(f"cluster test unavailable: {reason}", file=sys.stderr)
        sys.exit(2)
    # A SIGTERM (a time limit) unwinds through the clean-up like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results = run(args.short, args.tag)
    print(summary(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    if not args.short:
        REPORT.write_text(report(results))
        print(f"wrote {REPORT.relative_to(ROOT)}")
    sys.exit(0 if results["passed"] else 1)


if __name__ == "__main__":
    main()
