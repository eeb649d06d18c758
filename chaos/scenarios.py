"""The fault scenarios of `make chaos` (T2, T3, T5, T6, T7, T8, T9, T11, T12 of reliability.md).

Each scenario builds its own World, offers load, injects its fault, waits until the database says
every delivery is terminal, and returns a Result: the ledger verdict plus the scenario's own checks.
`short=True` is the version `make test` runs (smaller counts, same checks).
"""

import random
import signal
import subprocess
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from . import fixtures
from .faultproxy import FaultProxy
from .loadgen import ACK
from .services import wait_for
from .world import World


@dataclass
class Result:
    scenario: str
    title: str
    verdict: dict = field(default_factory=dict)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    facts: dict = field(default_factory=dict)
    seconds: float = 0.0
    skipped: str = ""
    error: str = ""

    def check(self, description: str, ok: bool, detail: object = "") -> None:
        self.checks.append((description, bool(ok), str(detail)))

    @property
    def passed(self) -> bool:
        return not self.error and not self.skipped and all(ok for _, ok, _ in self.checks)

    def as_dict(self) -> dict:
        return {
            "scenario": self.scenario,
            "title": self.title,
            "verdict": self.verdict,
            "checks": self.checks,
            "facts": self.facts,
            "seconds": round(self.seconds, 1),
            "skipped": self.skipped,
            "error": self.error,
            "passed": self.passed,
        }


def _ledger(result: Result, world: World, attempts, targets_of: Callable, expect_dead: bool = False) -> None:
    verdict = world.verdict(attempts, targets_of)
    result.verdict = verdict.as_dict()
    result.check("ledger valid: lost = 0 and unexpected = 0", verdict.valid, verdict.line())
    if not expect_dead:
        result.check(
            "nothing dead-lettered (the target always recovers)", verdict.dead_lettered == 0, verdict.dead_lettered
        )


def _settle(result: Result, world: World, timeout: float, prefix: str = "") -> None:
    try:
        took = world.wait_settled(timeout, prefix)
        result.check(f"every delivery terminal within {timeout:g} s", True, f"{took:.1f} s")
        result.facts["settle_seconds"] = round(took, 1)
    except TimeoutError:
        result.check(f"every delivery terminal within {timeout:g} s", False, dict(fixtures.delivery_states(prefix)))


def _pending_entries(world: World) -> int:
    client = world.redis.client()
    try:
        return int(client.xpending("eventhub:deliveries", "dispatchers")["pending"])
    finally:
        client.close()


class _Supervisor:
    """Restarts dispatch workers (and, if asked, Daphne) that died, as systemd or Kubernetes would."""

    def __init__(self, world: World, servers: bool = False) -> None:
        self.world = world
        self.servers = servers
        self.restarts = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> "_Supervisor":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)

    def _watch(self) -> None:
        stack = self.world.stack
        while not self._stop.wait(0.2):
            for index, worker in enumerate(stack.workers):
                if worker is not None and worker.poll() is not None:
                    self.restarts["worker"] += 1
                    stack.restart_worker(index)
            if self.servers:
                for index, server in enumerate(stack.servers):
                    if server.poll() is not None:
                        self.restarts["daphne"] += 1
                        stack.restart_server(index)


# -- T2 --------------------------------------------------------------------------------------------


def t2_kill_storm(short: bool = False) -> Result:
    result = Result("T2", "Worker kill -9 storm")
    events, rate, kills, every = (3_000, 600, 5, 1.0) if short else (20_000, 800, 15, 2.0)
    with World("T2") as world:
        world.start(servers=1, workers=2)
        world.route({"ok": {}})
        run = world.load(rate=rate, total_events=events)
        rng = random.Random(2)
        time.sleep(every)
        for _ in range(kills):
            victim = rng.randrange(len(world.stack.workers))
            world.stack.signal_worker(victim, signal.SIGKILL)
            world.stack.workers[victim].wait()
            world.stack.restart_worker(victim)
            time.sleep(every)
        last_kill = time.monotonic()
        attempts = run.wait(600)
        _settle(result, world, 60 + max(0.0, last_kill + 60 - time.monotonic()))
        _ledger(result, world, attempts, lambda e: ["ok"])
        duplicates = result.verdict["duplicated"]
        # A killed worker's sent deliveries not yet recorded are sent again: at most its prefetch.
        result.check(f"duplicates <= kills x prefetch ({kills} x 512)", duplicates <= kills * 512, duplicates)
        try:
            world.wait_settled(1)
            wait_for(lambda: _pending_entries(world) == 0, 30, "Redis PEL empty", interval=0.5)
            result.check("Redis pending-entries list empty afterwards", True)
        except TimeoutError:
            result.check("Redis pending-entries list empty afterwards", False, _pending_entries(world))
        result.facts |= {"kills": kills, "events": events, "offered_rate": rate}
    return result


# -- T3 --------------------------------------------------------------------------------------------


def t3_rolling_restart(short: bool = False) -> Result:
    result = Result("T3", "Graceful rolling restart (SIGTERM)")
    rounds, every, rate, seconds = (4, 3.0, 400, 14) if short else (10, 4.0, 500, 42)
    grace = 25.0
    with World("T3") as world:
        world.start(servers=1, workers=2)
        world.route({"ok": {"timeout_seconds": 5.0}})
        world.behave("ok", delay=0.05)
        run = world.load(rate=rate, seconds=seconds)
        exits = []
        for number in range(rounds):
            time.sleep(every)
            index = number % 2
            world.stack.wait_worker_ready(index)
            worker = world.stack.workers[index]
            began = time.monotonic()
            worker.send_signal(signal.SIGTERM)
            try:
                code = worker.wait(grace)
            except subprocess.TimeoutExpired:  # outliving the grace is the finding: kill it and record that
                worker.kill()
                code = "killed after grace"
            exits.append((round(time.monotonic() - began, 2), code))
            world.stack.restart_worker(index)
        attempts = run.wait(600)
        _settle(result, world, 90)
        _ledger(result, world, attempts, lambda e: ["ok"])
        result.check(
            "duplicates = 0 (in-flight work drained before exit)",
            result.verdict["duplicated"] == 0,
            result.verdict["duplicated"],
        )
        result.check(f"every worker exited 0 within its {grace:g} s grace", all(code == 0 for _, code in exits), exits)
        result.facts |= {"restarts": rounds, "exit_seconds_max": max(s for s, _ in exits)}
    return result


# -- T5 --------------------------------------------------------------------------------------------


def t5_redis_total_loss(short: bool = False) -> Result:
    result = Result("T5", "Redis total loss, rebuilt from the database")
    events, rate = (3_000, 600) if short else (12_000, 800)
    with World("T5") as world:
        world.start(servers=1, workers=2)
        world.route({"ok": {}})
        world.behave("ok", delay=0.02)
        run = world.load(rate=rate, total_events=events)
        time.sleep(0.4 * events / rate)
        backlog = fixtures.unfinished()
        world.redis.restart_empty()
        lost_at = time.monotonic()
        attempts = run.wait(600)
        not_acked = sum(a.outcome != ACK for a in attempts)
        result.check(
            "publishing kept answering 2xx while Redis was gone (the DB is the record)",
            not_acked == 0,
            f"{not_acked} entries not acknowledged",
        )
        _settle(result, world, 90)
        result.facts |= {
            "events": events,
            "unfinished_when_redis_was_wiped": backlog,
            "recovered_within_s": round(time.monotonic() - lost_at, 1),
        }
        _ledger(result, world, attempts, lambda e: ["ok"])
    return result


# -- T6 --------------------------------------------------------------------------------------------


def t6_crash_after_commit(short: bool = False) -> Result:
    result = Result("T6", "Crash between commit and enqueue")
    events, rate, probability = (2_000, 200, 0.03) if short else (6_000, 200, 0.03)
    with World("T6", knobs={"EVENTHUB_CHAOS_EXIT_AFTER_COMMIT": str(probability)}) as world:
        world.start(servers=2, workers=2, application="chaos.faulty_asgi:application")
        world.route({"ok": {}})
        with _Supervisor(world, servers=True) as supervisor:
            run = world.load(rate=rate, total_events=events, timeout=5.0)
            attempts = run.wait(900)
        _settle(result, world, 90)
        _ledger(result, world, attempts, lambda e: ["ok"])
        stored = fixtures.stored_event_ids([a.event_id for a in attempts])
        undelivered = len(stored - {r.get("event_id") for r in world.received() if r.get("status") == 200})
        result.check("every stored event delivered (acknowledged or not)", undelivered == 0, undelivered)
        result.check(
            "the fault fired (server processes died after commit)",
            supervisor.restarts["daphne"] > 0,
            supervisor.restarts["daphne"],
        )
        result.facts |= {"daphne_crashes": supervisor.restarts["daphne"], "stored": len(stored)}
    return result


# -- T7 --------------------------------------------------------------------------------------------


def t7_postgres_restart(short: bool = False) -> Result:
    result = Result("T7", "PostgreSQL restart under load")
    from .services import PrivatePostgres

    why_not = PrivatePostgres.available()
    if why_not:
        result.skipped = f"not run: {why_not}"
        return result
    seconds, rate, down_at, down_for = (24, 150, 6, 6) if short else (40, 200, 10, 10)
    with World("T7", private_postgres=True) as world:
        world.start(servers=1, workers=2)
        world.route({"ok": {}})
        began = time.time()
        run = world.load(rate=rate, seconds=seconds, timeout=5.0)
        time.sleep(down_at)
        world.postgres.stop_immediate()
        stopped = time.time()
        time.sleep(down_for)
        world.postgres.start()
        started = time.time()
        attempts = run.wait(600)
        fixtures.reconnect()
        acked = [a.event_id for a in attempts if a.outcome == ACK]
        stored = fixtures.stored_event_ids(acked)
        result.check(
            "no 2xx without a committed row (acknowledged ⊆ stored)",
            len(stored) == len(acked),
            f"{len(acked) - len(stored)} acknowledged but not stored",
        )

        def answered_at(attempt) -> float:
            return attempt.sent_at + (attempt.latency_ms or 0) / 1000

        down = [a for a in attempts if stopped + 0.2 < answered_at(a) < started]
        answers = Counter(str(a.status or a.error.split(":")[0]) for a in down)
        result.check(
            "no 2xx answered while the database was down",
            not any(a.outcome == ACK for a in down),
            f"answers while down: {dict(answers)}",
        )
        held = sum(1 for a in attempts if a.outcome == ACK and a.sent_at < started < answered_at(a))
        result.facts["requests_held_until_restart_then_2xx"] = held
        first_ok = min(
            (answered_at(a) for a in attempts if a.outcome == ACK and answered_at(a) > started), default=None
        )
        recovery = None if first_ok is None else round(first_ok - started, 2)
        result.check(
            "ingest answers 2xx again within 10 s of the restart",
            recovery is not None and recovery <= 10,
            f"{recovery} s",
        )
        _settle(result, world, 90)
        _ledger(result, world, attempts, lambda e: ["ok"])
        alive = world.stack.live_workers()
        result.check(
            "workers reconnected without a restart",
            alive == 2 and world.stack.worker_starts == 2,
            f"{alive} alive, {world.stack.worker_starts} starts",
        )
        result.facts |= {"down_seconds": round(started - stopped, 1), "load_seconds": seconds, "began": began}
    return result


# -- T8 --------------------------------------------------------------------------------------------

T8_TARGETS = {
    # name: (receiver behaviour, expected end: "delivered" or the dead reason)
    "flaky500": ({"status": 500}, "delivered"),
    "throttled429": ({"statuses": [429, 429, 200], "retry_after": 2}, "delivered"),
    "bad400": ({"status": 400}, "non_retriable_status"),
    "unauth401": ({"status": 401}, "non_retriable_status"),
    "missing404": ({"status": 404}, "non_retriable_status"),
    "gone410": ({"status": 410}, "target_gone"),  # disabled by its first 410: see _check_gone_target
    "redirect302": ({"status": 302}, "redirect_not_followed"),
    "resets": ({"statuses": ["reset", "reset", 200]}, "delivered"),
    "timeouts": ({"statuses": ["hang", 200], "hang_seconds": 4}, "delivered"),
}


def t8_target_errors(short: bool = False) -> Result:
    result = Result("T8", "Target errors: 5xx, 429 + Retry-After, 4xx, 410, 3xx, resets, timeouts")
    events, fail_for = (20, 4.0) if short else (200, 10.0)
    with World("T8") as world:
        world.start(servers=1, workers=2)
        ids = world.route({name: {"timeout_seconds": 1.5} for name in T8_TARGETS})
        for name, (behaviour, _) in T8_TARGETS.items():
            extra = {"fail_until": time.time() + fail_for} if name == "flaky500" else {}
            world.behave(name, **behaviour, **extra)
        run = world.load(rate=50, total_events=events)
        attempts = run.wait(120)
        _settle(result, world, 120)
        from dashboard.models import Delivery

        # Events published after the 410 disabled the target are not routed to it: it expects none of them.
        gone_rows = Delivery.objects.filter(target_id=ids["gone410"])
        routed_to_gone = set(gone_rows.values_list("event__event_id", flat=True))
        everywhere = [name for name in T8_TARGETS if name != "gone410"]
        _ledger(result, world, attempts, lambda e: everywhere + ["gone410"] * (e in routed_to_gone), expect_dead=True)
        records = world.received()

        rows = defaultdict(list)
        for target_id, state, reason, tries, status in Delivery.objects.values_list(
            "target_id", "state", "dead_reason", "attempts", "last_status_code"
        ):
            rows[world.target_names[target_id]].append((state, reason, tries, status))
        for name, (_, expected) in T8_TARGETS.items():
            if expected == "target_gone":
                continue
            outcomes = Counter(state if state == "succeeded" else reason for state, reason, _, _ in rows[name])
            wanted = "succeeded" if expected == "delivered" else expected
            result.check(f"{name}: every delivery ends {wanted}", set(outcomes) == {wanted}, dict(outcomes))
        for name in ("bad400", "unauth401", "missing404", "redirect302"):
            tries = {t for _, _, t, _ in rows[name]}
            result.check(f"{name}: tried once, not retried", tries == {1}, sorted(tries))
        codes = {s for _, _, _, s in rows["bad400"]}
        result.check("the final status code is recorded on dead letters", codes == {400}, codes)
        gaps = _retry_gaps(records, "throttled429")
        result.check(
            "429: no retry earlier than Retry-After (2 s)",
            gaps and min(gaps) >= 1.95,
            f"min gap {min(gaps, default=0):.2f} s",
        )
        redirect_follow = sum(1 for r in records if r["target"] not in T8_TARGETS)
        result.check("3xx never followed", redirect_follow == 0, redirect_follow)
        _check_gone_target(result, ids["gone410"], rows["gone410"], records)
        result.facts["attempts_per_target"] = {name: sum(t for _, _, t, _ in rows[name]) for name in T8_TARGETS}
    return result


def _check_gone_target(result: Result, target_id: int, rows: list[tuple], records: list[dict]) -> None:
    """D: the first 410 disables the target; what was routed to it ends dead, answered 410 once or never
    sent (`target_disabled`), and is kept for redrive; nothing reaches it once every process has seen
    the change (routing tables refresh within REFRESH_SECONDS)."""
    from dashboard.delivery.planning import REFRESH_SECONDS
    from dashboard.models import Delivery, Target

    target = Target.objects.get(pk=target_id)
    result.check("gone410: the target was disabled by its 410", not target.enabled, f"enabled={target.enabled}")
    ends = Counter(reason if state == "dead" else state for state, reason, _, _ in rows)
    result.check(
        "gone410: deliveries end dead: answered 410, or not sent once the target was disabled",
        ends["non_retriable_status"] >= 1 and set(ends) <= {"non_retriable_status", "target_disabled"},
        dict(ends),
    )
    answered = {(tries, status) for state, reason, tries, status in rows if reason == "non_retriable_status"}
    unsent = {tries for state, reason, tries, status in rows if reason == "target_disabled"}
    result.check("gone410: answered 410 once, never retried", answered == {(1, 410)}, sorted(answered))
    result.check("gone410: the rest were never sent", unsent <= {0}, sorted(unsent))
    not_kept = Delivery.objects.filter(target_id=target_id, dead_lettered=False).count()
    result.check("gone410: every delivery kept as a dead letter for redrive", not_kept == 0, not_kept)
    settled = target.disabled_at.timestamp() + REFRESH_SECONDS + 1.0
    late = sum(1 for r in records if r["target"] == "gone410" and r["received_at"] > settled)
    result.check("gone410: no attempt after the disable reached every worker", late == 0, f"{late} late attempts")
    result.facts["gone410_answered_410"] = ends["non_retriable_status"]
    result.facts["gone410_not_sent"] = ends["target_disabled"]


def _retry_gaps(records: list[dict], target: str) -> list[float]:
    per_id = defaultdict(list)
    for record in records:
        if record["target"] == target:
            per_id[record["webhook_id"]].append(record["received_at"])
    return [b - a for times in per_id.values() for a, b in zip(sorted(times), sorted(times)[1:], strict=False)]


# -- T9 --------------------------------------------------------------------------------------------


def t9_hanging_target(short: bool = False) -> Result:
    result = Result("T9", "A hanging target does not starve a healthy one")
    events, rate = (200, 40) if short else (1_000, 50)
    with World("T9") as world:
        world.start(servers=1, workers=2)
        world.route({"hanging": {"timeout_seconds": 2.0, "max_concurrency": 4}, "healthy": {"timeout_seconds": 2.0}})
        world.behave("hanging", hang=60)
        run = world.load(rate=rate, total_events=events)
        attempts = run.wait(300)
        acknowledged = sum(a.outcome == ACK for a in attempts)
        try:
            wait_for(lambda: len(_first_ok_latency(world.received(), "healthy")) >= acknowledged, 120,
                     "every event delivered to the healthy target", interval=0.5)  # fmt: skip
        except TimeoutError:
            result.check("healthy target: every event delivered while the other hangs", False)
        records = world.received()
        healthy = _first_ok_latency(records, "healthy")
        p95 = _percentile(healthy, 0.95)
        result.check(
            "healthy target: delivery lag p95 <= 2 s while the other hangs",
            p95 is not None and p95 <= 2.0,
            f"p95 {p95:.3f} s over {len(healthy)} deliveries" if p95 is not None else "nothing delivered",
        )
        from dashboard.models import DeliveryAttempt

        durations = list(
            DeliveryAttempt.objects.filter(target_id__in=[k for k, v in world.target_names.items() if v == "hanging"])
            .exclude(duration_ms=0)
            .values_list("duration_ms", flat=True)
        )
        result.check(
            "hanging target: each attempt ends at the 2 s timeout (+- 1 s)",
            durations and all(1000 <= d <= 3000 for d in durations),
            f"{len(durations)} attempts, {min(durations, default=0):.0f}-{max(durations, default=0):.0f} ms",
        )
        world.behave("hanging", status=200)
        _settle(result, world, 120)
        _ledger(result, world, attempts, lambda e: ["hanging", "healthy"])
        result.facts |= {"healthy_p50_s": _percentile(healthy, 0.5), "healthy_p95_s": p95}
    return result


def _first_ok_latency(records: list[dict], target: str) -> list[float]:
    first: dict[str, float] = {}
    for record in records:
        if record["target"] == target and record.get("status") == 200 and record.get("sent_at"):
            latency = record["received_at"] - record["sent_at"]
            first[record["webhook_id"]] = min(first.get(record["webhook_id"], latency), latency)
    return list(first.values())


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- T11 -------------------------------------------------------------------------------------------


def t11_poison_event(short: bool = False) -> Result:
    result = Result("T11", "Poison event (kills its worker every time)")
    normal, poison = (300, 2) if short else (1_000, 3)
    with World("T11") as world:
        poison_log = world.dir / "poison.log"
        world.env["EVENTHUB_CHAOS_POISON_LOG"] = str(poison_log)
        world.start(servers=1, workers=2)
        world.route({"ok": {}})
        handler_target = fixtures.route_python(
            "poison", "chaos.handlers.exit_on_poison", '{"detail": {"poison": [true]}}'
        )
        with _Supervisor(world) as supervisor:
            run = world.load(rate=100, total_events=normal)
            time.sleep(1)
            bad = world.load(rate=1, total_events=poison, batch=1, prefix="poison", detail={"poison": True})
            attempts = run.wait(300) + bad.wait(60)
            _settle(result, world, 180)
        tries = Counter(poison_log.read_text().split()) if poison_log.exists() else Counter()
        result.check("each poison event tried at most 3 times", tries and max(tries.values()) <= 3, dict(tries))
        reasons = fixtures.dead_reasons("poison", target_id=handler_target)
        result.check(
            "each poison event dead-lettered as worker_lost", reasons == Counter({"worker_lost": poison}), dict(reasons)
        )
        verdict = world.verdict(attempts, lambda e: ["ok"])
        result.verdict = verdict.as_dict()
        result.check("normal events: lost = 0 and unexpected = 0", verdict.valid, verdict.line())
        collateral = fixtures.dead_reasons("ev")
        result.check("no normal event dead-lettered as collateral of the crashes", not collateral, dict(collateral))
        lag = _first_ok_latency(world.received(), "ok")
        result.facts |= {"worker_restarts": supervisor.restarts["worker"], "ok_lag_p95_s": _percentile(lag, 0.95)}
        result.check(
            "workers kept running (restarted after each crash, no permanent crash loop)",
            world.stack.live_workers() == 2,
            world.stack.live_workers(),
        )
    return result


# -- T12 -------------------------------------------------------------------------------------------


def t12_network_faults(short: bool = False) -> Result:
    result = Result("T12", "Network faults via the TCP fault proxy (worker<->target, worker<->Redis)")
    phase = 4.0 if short else 8.0
    with World("T12") as world:
        target_proxy = FaultProxy(world.receiver_port).start()
        redis_proxy = FaultProxy(world.redis.port).start()
        world.stack.start_servers(1)
        world.stack.env = world.env | {"REDIS_URL": f"redis://127.0.0.1:{redis_proxy.port}/0"}
        for _ in range(2):
            world.stack.start_worker()
        world.stack.env = world.env
        world.route({"ok": {"url": world.target_url("ok", target_proxy.port)}})
        phases = [
            ("latency 500 ms both ways", lambda: [p.set_mode("latency", ms=500) for p in (target_proxy, redis_proxy)]),
            ("target blackholed", lambda: target_proxy.set_mode("blackhole")),
            ("Redis blackholed", lambda: (target_proxy.set_mode("pass"), redis_proxy.set_mode("blackhole"))),
            (
                "reset every 10th connection",
                lambda: [p.set_mode("pass", reset_every=10) for p in (target_proxy, redis_proxy)],
            ),
            ("all connections reset", lambda: [p.set_mode("reset") for p in (target_proxy, redis_proxy)]),
        ]
        run = world.load(rate=100, seconds=phase * (len(phases) + 1))
        time.sleep(phase / 2)
        for _, apply in phases:
            apply()
            time.sleep(phase)
        for proxy in (target_proxy, redis_proxy):
            proxy.set_mode("pass")
        healed = time.monotonic()
        attempts = run.wait(300)
        _settle(result, world, 120)
        result.facts["settled_after_heal_s"] = round(time.monotonic() - healed, 1)
        _ledger(result, world, attempts, lambda e: ["ok"])
        result.check(
            "no worker died (every fault handled in-process)",
            world.stack.live_workers() == 2 and world.stack.worker_starts == 2,
            f"{world.stack.live_workers()} alive, {world.stack.worker_starts} starts",
        )
        from dashboard.models import DeliveryAttempt

        timeouts = DeliveryAttempt.objects.filter(error__startswith="timed out").count()
        result.check("blackholed target: the HTTP timeout fired", timeouts > 0, f"{timeouts} timed-out attempts")
        result.facts["phases"] = [name for name, _ in phases]
        target_proxy.stop()
        redis_proxy.stop()
    return result


# -- T13 -------------------------------------------------------------------------------------------


def t13_failing_target_paused(short: bool = False) -> Result:
    """A target answers 500 for a while (a minute; 20 s short) then recovers: it is paused once its
    failures cross the threshold, its deliveries wait (none dead-lettered), probes test it, and the first
    successful probe resumes it and sends the backlog. The healthy target beside it is not slowed."""
    result = Result("T13", "A failing target is paused, probed, and resumed when it recovers")
    events, rate, outage = (300, 20, 20.0) if short else (1_800, 30, 60.0)
    with World("T13") as world:
        world.start(servers=1, workers=2)
        ids = world.route({"failing": {}, "healthy": {}})
        recovers_at = time.time() + outage
        world.behave("failing", status=500, fail_until=recovers_at)
        run = world.load(rate=rate, total_events=events)
        from dashboard.models import Target

        failing = Target.objects.filter(pk=ids["failing"])
        try:
            wait_for(lambda: failing.get().paused_at is not None, outage, "the target to be paused", interval=0.2)
            result.check("the failing target was paused during the outage", True, failing.get().paused_reason)
        except TimeoutError:
            result.check("the failing target was paused during the outage", False)
        attempts = run.wait(300)
        _settle(result, world, outage + 180)
        _ledger(result, world, attempts, lambda e: ["failing", "healthy"])
        target = failing.get()
        result.check(
            "a probe resumed it after it recovered",
            target.paused_at is None and target.resumed_reason.startswith("probe delivery"),
            f"resumed {target.resumed_at} ({target.resumed_reason or 'not resumed'})",
        )
        records = world.received()
        tried = sum(1 for r in records if r["target"] == "failing" and r["received_at"] < recovers_at)
        routed = min(events, int(rate * outage))
        result.check(
            "while paused its deliveries waited: fewer requests during the outage than events routed to it",
            tried < routed,
            f"{tried} requests during the outage for {routed} events",
        )
        healthy = _first_ok_latency(records, "healthy")
        p95 = _percentile(healthy, 0.95)
        result.check(
            "healthy target: delivery lag p95 <= 2 s meanwhile",
            p95 is not None and p95 <= 2.0,
            f"p95 {p95:.3f} s" if p95 is not None else "nothing delivered",
        )
        result.facts |= {
            "requests_during_outage": tried,
            "routed_during_outage": routed,
            "outage_s": outage,
            "healthy_p50_s": _percentile(healthy, 0.5),
            "healthy_p95_s": p95,
        }
    return result


SCENARIOS: dict[str, Callable[[bool], Result]] = {
    "T2": t2_kill_storm,
    "T3": t3_rolling_restart,
    "T5": t5_redis_total_loss,
    "T6": t6_crash_after_commit,
    "T7": t7_postgres_restart,
    "T8": t8_target_errors,
    "T9": t9_hanging_target,
    "T11": t11_poison_event,
    "T12": t12_network_faults,
    "T13": t13_failing_target_paused,
}
