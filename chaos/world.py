"""One scenario's world: its own Redis, a scratch database, a receiver, Daphne and dispatch workers.

    with World("T2", knobs={...}) as world:
        world.start(servers=1, workers=2)
        ids = world.route({"ok": {}})                  # receiver target "ok" for every ChaosTick
        run = world.load(rate=500, total_events=5000)  # a LoadRun, already started
        ...
        verdict = world.verdict(run.wait(), targets_of=lambda e: ["ok"])

A World configures Django in this process for its database, so a process holds one World (the
scenario runner starts one process per scenario).
"""

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable

from . import fixtures
from .ledger import Verdict, check
from .loadgen import Attempt, LoadPlan, LoadRun
from .services import (
    ROOT,
    PrivatePostgres,
    PrivateRedis,
    Stack,
    base_env,
    create_schema,
    free_port,
    port_open,
    run_directory,
    scratch_database,
    wait_for,
)

# Compressed clock for every scenario: seconds where production uses minutes.
FAST_KNOBS = {
    "EVENTHUB_RETRY_BASE_SECONDS": "0.2",
    "EVENTHUB_RETRY_CAP_SECONDS": "2",
    "EVENTHUB_VISIBILITY_TIMEOUT_SECONDS": "6",
    "EVENTHUB_RECLAIM_INTERVAL_SECONDS": "1",
    "EVENTHUB_SWEEP_INTERVAL_SECONDS": "1",
    "EVENTHUB_SWEEP_GRACE_SECONDS": "4",
    "EVENTHUB_DELAYED_POLL_SECONDS": "0.1",
}


def database_base_url() -> str | None:
    """Where scratch databases are made: EVENTHUB_CHAOS_DATABASE_URL, else DATABASE_URL, else SQLite."""
    return os.environ.get("EVENTHUB_CHAOS_DATABASE_URL") or os.environ.get("DATABASE_URL")


class World:
    def __init__(self, name: str, knobs: dict | None = None, private_postgres: bool = False) -> None:
        self.name = name
        self.knobs = FAST_KNOBS | (knobs or {})
        self.private_postgres = private_postgres
        self.postgres: PrivatePostgres | None = None
        self.target_names: dict[int, str] = {}

    def __enter__(self) -> "World":
        self._dir_context = run_directory(f"eh-chaos-{self.name}-")
        self.dir = self._dir_context.__enter__()
        self.redis = PrivateRedis(self.dir / "redis").start()
        if self.private_postgres:
            self.postgres = PrivatePostgres(self.dir / "pg").init()
            self._db_context = None
            database_url = self.postgres.url
        else:
            self._db_context = scratch_database(database_base_url(), self.dir)
            database_url = self._db_context.__enter__()
        self.database_url = database_url
        self.env = base_env(database_url, self.redis.url, **self.knobs)
        create_schema(self.env)
        fixtures.use_database(self.env)
        self.authorization = fixtures.bearer_key()
        self.receiver_port = free_port()
        self.receiver = subprocess.Popen(
            [sys.executable, "-m", "chaos.receiver", "--port", str(self.receiver_port)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=open(self.dir / "receiver.log", "ab"),  # noqa: SIM115 - owned by the child
        )
        wait_for(lambda: port_open(self.receiver_port), 15, "receiver listening")
        self.stack = Stack(self.env, self.dir)
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.stack.close()
        finally:
            # SIGKILL: a graceful aiohttp shutdown would wait for requests a scenario left hanging.
            self.receiver.kill()
            self.receiver.wait(10)
            fixtures.close_connections()
            if self._db_context is not None:
                self._db_context.__exit__(None, None, None)
            if self.postgres is not None:
                self.postgres.destroy()
            self.redis.stop()
            self._dir_context.__exit__(None, None, None)

    # -- processes ---------------------------------------------------------------------------------

    def start(self, servers: int = 1, workers: int = 2, application: str = "eventhub.asgi:application") -> None:
        self.stack.start_servers(servers, application)
        for _ in range(workers):
            self.stack.start_worker()

    def log_tail(self, pattern: str = "dispatch-*.log", lines: int = 30) -> str:
        out = []
        for path in sorted(self.dir.glob(pattern)):
            text = path.read_text(errors="replace").splitlines()
            out.append(f"--- {path.name}\n" + "\n".join(text[-lines:]))
        return "\n".join(out)

    # -- receiver ----------------------------------------------------------------------------------

    def target_url(self, name: str, port: int | None = None) -> str:
        return f"http://127.0.0.1:{port or self.receiver_port}/t/{name}"

    def behave(self, name: str, **behaviour) -> None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.receiver_port}/_behaviour/{name}",
            data=json.dumps(behaviour).encode(),
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=10).read()

    def received(self) -> list[dict]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.receiver_port}/_records", timeout=60) as answer:
            return json.loads(answer.read())

    def receiver_stats(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.receiver_port}/_stats", timeout=10) as answer:
            return json.loads(answer.read())

    # -- set-up, load and verdict ------------------------------------------------------------------

    def route(self, targets: dict[str, dict], detail_type: str = "ChaosTick", rule: str = "chaos") -> dict[str, int]:
        """Receiver targets (name -> extra Target fields) on one rule; returns target ids by name."""
        fields = {
            name: {"url": self.target_url(name), "timeout_seconds": 2.0, "maximum_retry_attempts": 185} | extra
            for name, extra in targets.items()
        }
        ids = fixtures.route(rule, fields, detail_type=detail_type)
        self.target_names |= {pk: name for name, pk in ids.items()}
        return ids

    def load(self, rate: float, total_events: int | None = None, seconds: float | None = None, **plan) -> LoadRun:
        return LoadRun(
            LoadPlan(
                url=f"{self.stack.url}/api/v1/events",
                authorization=self.authorization,
                rate=rate,
                total_events=total_events,
                seconds=seconds,
                **plan,
            )
        ).start()

    def wait_settled(self, timeout: float, prefix: str = "") -> float:
        """Until no delivery is active in the database; returns the seconds it took."""
        began = time.monotonic()
        wait_for(lambda: fixtures.unfinished(prefix) == 0, timeout, "every delivery terminal", interval=0.5)
        return time.monotonic() - began

    def verdict(self, attempts: Iterable[Attempt], targets_of: Callable[[str], Iterable[str]]) -> Verdict:
        return check(attempts, self.received(), targets_of, fixtures.dead_letters(self.target_names))
