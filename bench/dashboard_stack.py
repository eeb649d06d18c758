"""A throwaway EventHub for the dashboard scripts (screenshots, live-tail latency): a fresh SQLite
database in a temporary folder, its own Redis key prefix, Daphne, and optionally a dispatch worker and
the demo shop, all stopped on exit. Nothing of the developer's own database or Redis data is touched.
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dashboard.lib.embedded_redis import redis_answers, start_embedded_redis  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on port {port} after {timeout} s")


@dataclass
class Stack:
    url: str
    env: dict
    username: str
    password: str
    folder: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    def manage(self, *args: str) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True, capture_output=True, text=True
        ).stdout

    def start(self, name: str, *command: str) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 - the process owns it until exit
        process = subprocess.Popen(list(command), cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def use_here(self) -> None:
        """Point this Python process at the stack (to publish from it), then set Django up."""
        os.environ.update(self.env)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eventhub.settings")
        import django

        django.setup()


@contextmanager
def throwaway_stack(*, worker: bool = False, demo_rate: float = 0.0, seed: int = 7) -> Iterator[Stack]:
    folder = Path(tempfile.mkdtemp(prefix="eventhub-stack-"))
    redis_process = None
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if not redis_answers(redis_url):
        port = free_port()
        redis_process = start_embedded_redis(port, folder / "redis")
        redis_url = f"redis://127.0.0.1:{port}/0"
    port = free_port()
    env = dict(
        os.environ,
        DEBUG="1",
        PYTHONUNBUFFERED="1",
        DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}",
        REDIS_URL=redis_url,
        EVENTHUB_REDIS_PREFIX=f"stack-{secrets.token_hex(4)}",
        # The demo's receiver listens on 127.0.0.1, which webhooks may only reach when allowed.
        EVENTHUB_WEBHOOK_ALLOW_NETWORKS="127.0.0.0/8",
    )
    stack = Stack(f"http://127.0.0.1:{port}", env, "operator", secrets.token_urlsafe(12), folder)
    try:
        stack.manage("migrate", "--noinput", "--run-syncdb")
        stack.manage("shell", "-c", _CREATE_USER.format(username=stack.username, password=stack.password))
        stack.start(
            "daphne", sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "eventhub.asgi:application"
        )
        wait_for_port(port)
        if worker:
            stack.start("dispatch", sys.executable, "manage.py", "dispatch")
        if demo_rate:
            stack.start(
                "demo",
                sys.executable,
                "manage.py",
                "demo_traffic",
                "--rate",
                str(demo_rate),
                "--port",
                "0",
                "--seed",
                str(seed),
            )
        yield stack
    finally:
        for process in reversed(stack.processes):
            with suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        if redis_process is not None:
            redis_process.terminate()
            redis_process.wait()


# An operator (a member of the operators group, which `migrate` creates) signs in for the pictures.
_CREATE_USER = (
    "from django.contrib.auth.models import Group, User; "
    "u = User.objects.create_user('{username}', password='{password}'); "
    "u.groups.add(Group.objects.get(name='operators'))"
)


def log_in(page, stack: Stack) -> None:
    page.goto(f"{stack.url}/accounts/login/")
    page.fill("#id_username", stack.username)
    page.fill("#id_password", stack.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{stack.url}/")
