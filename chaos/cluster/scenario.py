"""What the cluster run proves and measures.

- `partition`: a steady stream published through every host's Daphne while one host is cut off (link
  down) for longer than the visibility timeout, then restored. The ledger (chaos/ledger.py) must find
  nothing acknowledged lost; another host must claim the cut host's Redis pending entries once the
  visibility timeout runs out and deliver every delivery behind them before the cut host is back. The
  times from the cut to the claims and to the deliveries are reported.
- `burst_throughput`: a burst of N events queued while no worker runs, then drained by the workers of
  one host or of several; deliveries/s over the middle 80 % of the drain (start-up skew left out).
- `stream_capacity`: what one Redis stream does on its own over the same bridge (XADD, and XREADGROUP
  with XACK, pipelined as the transport does), for comparison with the delivery rate.
"""

import os
import shutil
import subprocess
import threading
import time
import uuid

from chaos import fixtures
from chaos.ledger import check
from chaos.loadgen import ACK

from .hosts import REDIS_PORT, Cluster, wait_until

STREAM, GROUP = "eventhub:deliveries", "dispatchers"
# The partition's stream: events/s (half through each Daphne) and how long the receiver takes to answer,
# so every worker has deliveries in flight whenever its host is cut off.
RATE, ANSWER_DELAY = 100, 0.1
# A taken-over delivery is sent alone and recorded before the next: one answer plus one commit, with room.
TAKEOVER_SECONDS = 0.4


def _check(result: dict, description: str, ok: bool, detail: object = "") -> None:
    result.setdefault("checks", []).append([description, bool(ok), str(detail)])


# -- partition -------------------------------------------------------------------------------------


def held_by(cluster: Cluster, consumer: str) -> dict[str, dict]:
    """The unfinished deliveries `consumer` has in hand: its Redis pending entries, read back in the database.
    Keyed by stream entry id: delivery id, state and lease end (an in-flight delivery's `next_attempt_at`)."""
    from dashboard.models import Delivery

    client = cluster.redis_client()
    try:
        pending = client.xpending_range(STREAM, GROUP, "-", "+", 100_000, consumername=consumer)
        with client.pipeline(transaction=False) as pipe:
            for entry in pending:
                pipe.xrange(STREAM, entry["message_id"], entry["message_id"], count=1)
            found = pipe.execute()
    finally:
        client.close()
    delivery_of = {
        entry_id.decode(): fields[b"d"].decode() for entries in found for entry_id, fields in entries if b"d" in fields
    }
    rows = Delivery.objects.filter(id__in=set(delivery_of.values()), state__in=Delivery.ACTIVE_STATES)
    active = {str(pk): (state, lease) for pk, state, lease in rows.values_list("id", "state", "next_attempt_at")}
    return {
        entry_id: {"delivery": pk, "state": active[pk][0], "lease_end": active[pk][1].timestamp()}
        for entry_id, pk in delivery_of.items()
        if pk in active
    }


def watch_claims(cluster: Cluster, held: dict[str, dict], victim: str, seconds: float) -> dict[str, float]:
    """For `seconds`, poll who owns each held entry; returns when (Unix time) another consumer claimed it."""
    claimed: dict[str, float] = {}
    client = cluster.redis_client()
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            waiting = [entry_id for entry_id in held if entry_id not in claimed]
            with client.pipeline(transaction=False) as pipe:
                for entry_id in waiting:
                    pipe.xpending_range(STREAM, GROUP, entry_id, entry_id, 1)
                answers = pipe.execute()
            now = time.time()
            for entry_id, answer in zip(waiting, answers, strict=True):
                # Gone from the pending list (acknowledged) or owned by someone else: it left the cut host.
                if not answer or answer[0]["consumer"].decode() != victim:
                    claimed[entry_id] = now
            time.sleep(0.1)
    finally:
        client.close()
    return claimed


def sessions_of(address: str) -> dict:
    """What the database sees of a host's connections: open transactions, and other sessions waiting on locks."""
    from django.db import connection

    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FILTER (WHERE client_addr = %s AND state = 'idle in transaction'),"
                " count(*) FILTER (WHERE client_addr <> %s AND wait_event_type = 'Lock')"
                " FROM pg_stat_activity",
                [address, address],
            )
            open_transactions, waiting = cursor.fetchone()
    finally:
        connection.close()
    return {"open_transactions_of_cut_host": open_transactions, "sessions_waiting_on_locks": waiting}


def delivered_elsewhere(delivery_ids: set[str], victim: str) -> dict[str, float]:
    """When another host started the first successful attempt of each delivery (Unix time)."""
    from dashboard.models import DeliveryAttempt

    rows = (
        DeliveryAttempt.objects.filter(delivery_id__in=delivery_ids, succeeded=True)
        .exclude(worker=victim)
        .order_by("started_at")
        .values_list("delivery_id", "started_at")
    )
    first: dict[str, float] = {}
    for delivery_id, started in rows:
        first.setdefault(str(delivery_id), started.timestamp())
    return first


def partition(cluster: Cluster, short: bool) -> dict:
    knobs = cluster.knobs
    visibility = float(knobs["EVENTHUB_VISIBILITY_TIMEOUT_SECONDS"])
    reclaim = float(knobs["EVENTHUB_RECLAIM_INTERVAL_SECONDS"])
    victims = cluster.worker_roles[:1] if short else cluster.worker_roles
    before, after = (4.0, 10.0) if short else (6.0, 15.0)
    cluster.behave("ok", delay=ANSWER_DELAY)
    per_host = RATE / len(cluster.worker_roles)
    # Batches of 2, so deliveries arrive spread out rather than ten at a time.
    runs = {
        role: cluster.load(role, rate=per_host, prefix=f"p{role}", seconds=3600, batch=2)
        for role in cluster.worker_roles
    }
    result: dict = {"rate": RATE, "answer_delay_s": ANSWER_DELAY, "visibility_timeout_s": visibility, "cuts": []}
    began = time.monotonic()
    time.sleep(before)
    for victim in victims:
        cluster.network.cut(victim)
        cut_at = time.time()
        held = held_by(cluster, victim)
        # Once the cut host's leases ran out: does it still hold row locks another host waits on?
        probe: dict = {}
        address = cluster.host(victim).address
        timer = threading.Timer(visibility + reclaim + 2, lambda p=probe, a=address: p.update(sessions_of(a)))
        timer.start()
        # Longer than the visibility timeout, and long enough for the takeovers, which go one at a time.
        cut_seconds = max(3 * visibility, visibility + reclaim + 4 + len(held) * TAKEOVER_SECONDS)
        claimed = watch_claims(cluster, held, victim, cut_at + cut_seconds - time.time())
        timer.join()
        cluster.network.restore(victim)
        restored_at = time.time()
        cut = {"host": victim, "cut_at": cut_at, "restored_at": restored_at, "held": held, "claimed": claimed}
        cut["after_leases_ran_out"] = probe
        result["cuts"].append(cut)
        time.sleep(after)
    for run in runs.values():
        run.stop()
    result["seconds"] = round(time.monotonic() - began, 1)
    attempts = [attempt for run in runs.values() for attempt in run.wait(120)]
    try:
        result["settle_s"] = round(wait_until(lambda: fixtures.unfinished() == 0, 120, "every delivery terminal"), 1)
        _check(result, "every delivery terminal within 120 s", True, f"{result['settle_s']} s")
    except TimeoutError:
        _check(result, "every delivery terminal within 120 s", False, dict(fixtures.delivery_states()))
    verdict = check(attempts, cluster.received(), lambda _: ["ok"], fixtures.dead_letters(cluster.target_names))
    result["verdict"] = verdict.as_dict()
    _check(result, "ledger valid: lost = 0 and unexpected = 0", verdict.valid, verdict.line())
    _check(result, "nothing dead-lettered", verdict.dead_lettered == 0, verdict.dead_lettered)
    result["acknowledged_per_host"] = {role: sum(a.outcome == ACK for a in run.attempts) for role, run in runs.items()}
    for cut in result["cuts"]:
        _judge_cut(result, cut, runs[cut["host"]].attempts, visibility, reclaim)
    return result


def _judge_cut(result: dict, cut: dict, victim_attempts: list, visibility: float, reclaim: float) -> None:
    from dashboard.models import DeliveryAttempt

    victim, cut_at, restored_at = cut["host"], cut["cut_at"], cut["restored_at"]
    held, claimed = cut.pop("held"), cut.pop("claimed")
    deliveries = {row["delivery"] for row in held.values()}
    delivered = delivered_elsewhere(deliveries, victim)
    claim_times = sorted(claimed[entry_id] - cut_at for entry_id in claimed)
    delivery_times = sorted(at - cut_at for at in delivered.values())
    cut |= {
        "cut_s": round(restored_at - cut_at, 1),
        "held": len(deliveries),
        "held_leased": len({row["delivery"] for row in held.values() if row["state"] == "in_flight"}),
        "claimed_s_min": round(claim_times[0], 2) if claim_times else None,
        "claimed_s_max": round(claim_times[-1], 2) if claim_times else None,
        "delivered_elsewhere": len(delivery_times),
        "delivered_s_max": round(delivery_times[-1], 2) if delivery_times else None,
        "takeovers_per_s": round(len(delivery_times) / (delivery_times[-1] - claim_times[0]), 1)
        if delivery_times and claim_times and delivery_times[-1] > claim_times[0]
        else None,
        "victim_acks_after_restore": sum(a.outcome == ACK and a.sent_at > restored_at for a in victim_attempts),
        "victim_deliveries_after_restore": DeliveryAttempt.objects.filter(
            worker=victim, succeeded=True, started_at__gt=_aware(restored_at)
        ).count(),
    }
    bound = visibility + reclaim + 1.0
    _check(result, f"{victim} cut: it held deliveries at the cut", len(deliveries) > 0, len(deliveries))
    # Taken-over deliveries are retried one at a time (a poison event must not take its neighbours down), so
    # only the first claim is bound by the visibility timeout; the rest follow one target round trip apart.
    _check(
        result,
        f"{victim} cut: another host claimed its first entries within the visibility timeout + one reclaim "
        f"pass + 1 s ({bound:g} s)",
        bool(claim_times) and claim_times[0] <= bound,
        f"{len(claimed)}/{len(held)} entries claimed before the restore, "
        f"{cut['claimed_s_min']} to {cut['claimed_s_max']} s after the cut",
    )
    _check(
        result,
        f"{victim} cut: every delivery it held was delivered by another host before it was restored",
        len(delivered) == len(deliveries) and (not delivery_times or delivery_times[-1] < restored_at - cut_at),
        f"{len(delivered)}/{len(deliveries)}, last {cut['delivered_s_max']} s after the cut, "
        f"restored after {cut['cut_s']} s",
    )
    _check(
        result,
        f"{victim} restored: its Daphne acknowledges and its worker delivers again",
        cut["victim_acks_after_restore"] > 0 and cut["victim_deliveries_after_restore"] > 0,
        f"{cut['victim_acks_after_restore']} acks, {cut['victim_deliveries_after_restore']} deliveries",
    )


def _aware(timestamp: float):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, UTC)


# -- throughput ------------------------------------------------------------------------------------


def burst_throughput(cluster: Cluster, worker_roles: list[str], events: int, prefix: str) -> dict:
    """Queue `events` with no worker running (published through every Daphne), then start the workers
    of `worker_roles` together and time the drain."""
    for role in cluster.worker_roles:
        cluster.stop_worker(role)
    cluster.behave("ok", status=200)
    per_host = events // len(cluster.worker_roles)
    runs = [
        cluster.load(role, rate=2000 / len(cluster.worker_roles), prefix=f"{prefix}{role}", total_events=per_host)
        for role in cluster.worker_roles
    ]
    attempts = [attempt for run in runs for attempt in run.wait(300)]
    acknowledged = sum(a.outcome == ACK for a in attempts)
    for role in worker_roles:
        # The production sweep grace (the fast one would re-enqueue the whole queued burst as overdue) and
        # the default concurrency.
        cluster.start_worker(role, EVENTHUB_SWEEP_GRACE_SECONDS="60", EVENTHUB_DISPATCH_CONCURRENCY="64")
    try:
        drain = wait_until(lambda: fixtures.unfinished(prefix) == 0, 120, f"burst {prefix} drained")
    except TimeoutError as error:
        raise TimeoutError(
            f"{error}: {dict(fixtures.delivery_states(prefix))}\n{cluster.log_tail('dispatch')}"
        ) from None
    first_ok: dict[str, float] = {}
    answers = 0
    for record in cluster.received():
        event_id = record.get("event_id") or ""
        if event_id.startswith(prefix) and record.get("status") == 200:
            answers += 1
            first_ok[event_id] = min(first_ok.get(event_id, float("inf")), record["answered_at"])
    times = sorted(first_ok.values())
    low, high = times[len(times) // 10], times[len(times) * 9 // 10 - 1]
    middle = len(times) * 9 // 10 - len(times) // 10
    return {
        "worker_hosts": len(worker_roles),
        "events": events,
        "acknowledged": acknowledged,
        "delivered": len(times),
        "deliveries_per_s": round(middle / (high - low), 1) if high > low else None,
        "drain_s": round(drain, 1),
        "first_to_last_s": round(times[-1] - times[0], 2) if times else None,
        "duplicated": answers - len(times),
        # The machine's 1-minute load average: every host shares its cores, and so may other jobs.
        "load_average": round(os.getloadavg()[0], 1),
    }


# -- one Redis stream ------------------------------------------------------------------------------


def stream_capacity(cluster: Cluster, entries: int) -> dict:
    """Entries/s one stream takes and gives on the db host's Redis, from the driver, with the transport's
    own pipelining (one XADD per delivery in a pipeline of 100; XREADGROUP COUNT 100 then one XACK)."""
    key, group = f"cluster-bench:{uuid.uuid4().hex[:8]}", "bench"
    client = cluster.redis_client()
    try:
        client.xgroup_create(key, group, id="0", mkstream=True)
        began = time.perf_counter()
        for _ in range(entries // 100):
            with client.pipeline(transaction=False) as pipe:
                for _ in range(100):
                    pipe.xadd(key, {"d": str(uuid.uuid4())})
                pipe.execute()
        xadd = entries / (time.perf_counter() - began)
        began, read = time.perf_counter(), 0
        while read < entries:
            answer = client.xreadgroup(group, "bench-1", {key: ">"}, count=100)
            ids = [entry_id for _, found in answer for entry_id, _ in found]
            client.xack(key, group, *ids)
            read += len(ids)
        consume = read / (time.perf_counter() - began)
        client.delete(key)
    finally:
        client.close()
    result = {"entries": entries, "xadd_per_s": round(xadd), "xreadgroup_xack_per_s": round(consume)}
    benchmark = shutil.which("redis-benchmark")
    if benchmark:
        output = subprocess.run(
            [benchmark, "-h", cluster.host("db").address, "-p", str(REDIS_PORT), "-n", "200000", "-c", "50",
             "-P", "16", "-q", "XADD", f"{key}:rb", "*", "d", str(uuid.uuid4())],
            capture_output=True, text=True, timeout=120,
        ).stdout  # fmt: skip
        # -q rewrites its progress line with carriage returns; the last one is the result.
        last = output.replace("\r", "\n").strip().splitlines()[-1] if output.strip() else ""
        result["redis_benchmark_xadd"] = last.rsplit(": ", 1)[-1]  # "<command>: N requests per second, p50=..."
        cluster.redis_client().delete(f"{key}:rb")
    return result
