import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from dashboard.embedded_redis import redis_answers, start_embedded_redis


class Command(BaseCommand):
    help = (
        "Start everything EventHub runs: Daphne on 127.0.0.1:8000, the dispatch worker, the projection worker "
        "and, when REDIS_URL is unset and nothing answers on the port, an embedded Redis. Ctrl-C stops all of it."
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
        children: list[tuple[str, subprocess.Popen]] = []
        env = dict(os.environ)
        if "REDIS_URL" not in os.environ:
            redis_port = int(os.environ.get("EVENTHUB_EMBEDDED_REDIS_PORT", "6379"))
            url = f"redis://127.0.0.1:{redis_port}/0"
            if not redis_answers(url):
                directory = Path(settings.BASE_DIR) / ".eventhub" / "redis"
                children.append(("redis", start_embedded_redis(redis_port, directory)))
                self.stdout.write(f"Started embedded Redis on 127.0.0.1:{redis_port}")
            env["REDIS_URL"] = url
        if demo:
            # The demo's webhook receivers listen on loopback, which the SSRF guard otherwise refuses.
            env.setdefault("EVENTHUB_WEBHOOK_ALLOW_NETWORKS", "127.0.0.0/8")
        python = sys.executable
        commands = [("daphne", [python, "-m", "daphne", "-b", host, "-p", str(port), "eventhub.asgi:application"])]
        commands += [(f"dispatch-{n}", [python, "manage.py", "dispatch"]) for n in range(workers)]
        commands.append(("projections", [python, "manage.py", "project"]))
        if demo:
            commands.append(("demo", [python, "manage.py", "demo_traffic"]))
        for name, command in commands:
            children.append((name, subprocess.Popen(command, env=env, cwd=settings.BASE_DIR)))
        self.stdout.write(f"EventHub is up on http://{host}:{port}/ (admin: /admin/). Ctrl-C stops everything.")
        try:
            self._watch(children)
        except KeyboardInterrupt:
            pass
        finally:
            self._stop(children)

    def _watch(self, children: list[tuple[str, subprocess.Popen]]) -> None:
        while True:
            for name, process in children:
                if process.poll() is not None:
                    self.stderr.write(f"{name} exited with {process.returncode}; stopping the rest.")
                    return
            time.sleep(0.5)

    def _stop(self, children: list[tuple[str, subprocess.Popen]]) -> None:
        # Redis goes last so workers can finish in-flight deliveries and acknowledge them.
        for _, process in reversed(children):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
