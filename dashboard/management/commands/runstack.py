import os
import shutil
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dashboard.lib.embedded_redis import redis_answers, start_embedded_redis

# A child that exits this many times within the window is broken, not unlucky: the stack stops.
CRASH_LIMIT = 5
CRASH_WINDOW_SECONDS = 60.0
# Restart delays double from the first to the cap while crashes keep coming within the window.
FIRST_RESTART_DELAY_SECONDS = 1.0
MAX_RESTART_DELAY_SECONDS = 16.0
POLL_SECONDS = 0.2


class Child:
    """One supervised process: how to start it, and when it exited recently."""

    def __init__(self, name: str, start: Callable[[], subprocess.Popen]) -> None:
        self.name = name
        self._start = start
        self.process = start()
        self.exits: deque[float] = deque()
        self.restart_at: float | None = None

    def exited(self, now: float) -> int:
        """Record an exit; returns how many fell within the crash window."""
        self.exits.append(now)
        while self.exits and self.exits[0] < now - CRASH_WINDOW_SECONDS:
            self.exits.popleft()
        delay = min(FIRST_RESTART_DELAY_SECONDS * 2 ** (len(self.exits) - 1), MAX_RESTART_DELAY_SECONDS)
        self.restart_at = now + delay
        return len(self.exits)

    def restart(self) -> None:
        self.restart_at = None
        self.process = self._start()


class Command(BaseCommand):
    help = (
        "Start everything EventHub runs: Daphne on 127.0.0.1:8000, the dispatch worker, the projection worker "
        "and, when REDIS_URL is unset and nothing answers on the port, an embedded Redis. A child that exits is "
        f"restarted (the stack stops if one exits {CRASH_LIMIT} times within {CRASH_WINDOW_SECONDS:g} s). "
        "Ctrl-C stops all of it."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=1, help="Dispatch worker processes.")
        parser.add_argument("--demo", action="store_true", help="Also run the demo shop's traffic.")

    def handle(self, *args, host: str, port: int, workers: int, demo: bool, **options) -> None:
        # Ctrl-C and SIGTERM both stop everything, even when started from a shell that ignores SIGINT.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _interrupt)
        children: list[Child] = []
        env = dict(os.environ)
        self.stdout.write(f"Database: {describe_database(settings.DATABASES['default'])}")
        if "REDIS_URL" in os.environ:
            url = os.environ["REDIS_URL"]
            self.stdout.write(f"Redis: {without_password(url)} (from REDIS_URL)")
            if not redis_answers(url):
                self.stderr.write(f"Redis at {without_password(url)} does not answer; workers retry until it does.")
        else:
            redis_port = int(os.environ.get("EVENTHUB_EMBEDDED_REDIS_PORT", "6379"))
            url = f"redis://127.0.0.1:{redis_port}/0"
            if redis_answers(url):
                self.stdout.write(f"Redis: {url} (one already answers on that port; set REDIS_URL to use another)")
            else:
                directory = Path(settings.BASE_DIR) / ".eventhub" / "redis"
                children.append(Child("redis", lambda: start_embedded_redis(redis_port, directory)))
                self.stdout.write(f"Redis: {url} (embedded redis-server started here, data in memory only)")
            env["REDIS_URL"] = url
        if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
            # prometheus-client's multiprocess mode: /metrics adds up the counters of every process started
            # here. Emptied first, since counters of a previous run would be added too.
            metrics_dir = Path(settings.BASE_DIR) / ".eventhub" / "metrics"
            shutil.rmtree(metrics_dir, ignore_errors=True)
            metrics_dir.mkdir(mode=0o700, parents=True)
            env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        if demo:
            # The demo's webhook receivers listen on loopback, which the SSRF guard otherwise refuses.
            env.setdefault("EVENTHUB_WEBHOOK_ALLOW_NETWORKS", "127.0.0.0/8")
        python = sys.executable
        commands = [("daphne", [python, "-m", "daphne", "-b", host, "-p", str(port), "eventhub.asgi:application"])]
        commands += [(f"dispatch-{n}", [python, "manage.py", "dispatch"]) for n in range(workers)]
        commands.append(("projections", [python, "manage.py", "project"]))
        commands.append(("schedules", [python, "manage.py", "schedule"]))
        # Off the publish path; a pass on no opted-in bus is one query.
        commands.append(("schema-discovery", [python, "manage.py", "discover_schemas", "--interval", "10"]))
        if demo:
            commands.append(("demo", [python, "manage.py", "demo_traffic"]))
        try:
            for name, command in commands:
                children.append(Child(name, _spawner(command, env)))
            self.stdout.write(f"EventHub is up on http://{host}:{port}/ (admin: /admin/). Ctrl-C stops everything.")
            self._supervise(children)
        except KeyboardInterrupt:
            pass
        except RuntimeError as error:  # the embedded Redis did not come up
            raise CommandError(str(error)) from None
        finally:
            self._stop(children)

    def _supervise(self, children: list[Child]) -> None:
        """Restart children that exit, with growing delays; give up on one that keeps exiting."""
        while True:
            now = time.monotonic()
            for child in children:
                if child.restart_at is not None:
                    if now >= child.restart_at:
                        child.restart()
                        self.stdout.write(f"{child.name} restarted (pid {child.process.pid}).")
                    continue
                if child.process.poll() is None:
                    continue
                crashes = child.exited(now)
                status = _exit_status(child.process.returncode)
                if crashes >= CRASH_LIMIT:
                    raise CommandError(
                        f"{child.name} {status}, {crashes} times within {CRASH_WINDOW_SECONDS:g} s; "
                        "stopping everything."
                    )
                self.stderr.write(
                    f"{child.name} {status}; restarting it in {child.restart_at - now:g} s "
                    f"({crashes} of {CRASH_LIMIT} exits allowed within {CRASH_WINDOW_SECONDS:g} s)."
                )
            time.sleep(POLL_SECONDS)

    def _stop(self, children: list[Child]) -> None:
        # Redis goes last so workers can finish in-flight deliveries and acknowledge them.
        for child in reversed(children):
            process = child.process
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def describe_database(database: dict) -> str:
    """Which database the stack uses, for the start-up banner (never the password)."""
    if database["ENGINE"] == "django.db.backends.sqlite3":
        return f"SQLite {database['NAME']}"
    user = f"{database['USER']}@" if database.get("USER") else ""
    return f"PostgreSQL {user}{database.get('HOST') or 'localhost'}:{database.get('PORT') or 5432}/{database['NAME']}"


def without_password(url: str) -> str:
    """`url` with any password removed, fit to print."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = f"{parts.username}@" if parts.username else ""
    host = f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname
    return urlunsplit(parts._replace(netloc=f"{user}{host}"))


def _spawner(command: list[str], env: dict) -> Callable[[], subprocess.Popen]:
    return lambda: subprocess.Popen(command, env=env, cwd=settings.BASE_DIR)


def _exit_status(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with status {returncode}"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
