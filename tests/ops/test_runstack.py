"""`make run` (manage.py runstack): brings its own Redis when none answers, says which database and Redis it
uses, restarts a child that dies, and stops everything on Ctrl-C."""

import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from django.core.management.base import CommandError

from dashboard.lib.embedded_redis import redis_answers
from dashboard.management.commands import runstack
from dashboard.management.commands.runstack import (
    CRASH_LIMIT,
    Child,
    describe_database,
    without_password,
)
from tests.conftest import ROOT, free_port, wait_for_port
from tests.processes import Running
from tests.waiting import wait_until


class Stack(Running):
    """`manage.py runstack` in its own session, its output collected line by line."""

    def __init__(self, env: dict, *args: str) -> None:
        super().__init__([sys.executable, "manage.py", "runstack", *args], ROOT, env)

    def children(self, command: str) -> list[int]:
        """Pids of the stack's child processes whose command line contains `command`."""
        listed = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        found = []
        for pid in listed:
            try:
                if command in Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " "):
                    found.append(int(pid))
            except FileNotFoundError:
                continue
        return found


def _answers(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=5) as page:
        return page.status == 200


def test_runstack_starts_embedded_redis_and_stops_everything_on_ctrl_c(subprocess_env):
    redis_port, http_port = free_port(), free_port()
    env = {k: v for k, v in subprocess_env.items() if k != "REDIS_URL"}
    env["EVENTHUB_EMBEDDED_REDIS_PORT"] = str(redis_port)
    stack = Stack(env, "--port", str(http_port))
    try:
        wait_for_port(http_port, timeout=30)
        assert redis_answers(f"redis://127.0.0.1:{redis_port}/0")
        assert f"Redis: redis://127.0.0.1:{redis_port}/0 (embedded" in stack.output()
        assert _answers(f"http://127.0.0.1:{http_port}/accounts/login/")
    finally:
        stack.stop()
    assert not redis_answers(f"redis://127.0.0.1:{redis_port}/0")


def test_runstack_says_which_database_and_redis_it_uses(subprocess_env, settings):
    http_port = free_port()
    stack = Stack(subprocess_env, "--port", str(http_port))
    try:
        wait_for_port(http_port, timeout=30)
        banner = stack.output()
    finally:
        stack.stop()
    assert f"Database: {describe_database(settings.DATABASES['default'])}" in banner
    assert f"Redis: {subprocess_env['REDIS_URL']} (from REDIS_URL)" in banner


def test_runstack_restarts_a_worker_killed_by_sigkill_and_daphne_keeps_answering(subprocess_env):
    http_port = free_port()
    stack = Stack(subprocess_env, "--port", str(http_port))
    try:
        wait_for_port(http_port, timeout=30)
        [worker] = wait_until(lambda: stack.children("manage.py dispatch"), timeout=30)
        os.kill(worker, signal.SIGKILL)
        [replacement] = wait_until(
            lambda: [pid for pid in stack.children("manage.py dispatch") if pid != worker], timeout=30
        )
        assert replacement != worker
        assert "dispatch-0 was killed by SIGKILL; restarting it in 1 s" in stack.output()
        assert _answers(f"http://127.0.0.1:{http_port}/accounts/login/")
        assert stack.process.poll() is None
    finally:
        stack.stop()


def test_restart_delays_double_while_a_child_keeps_exiting():
    child = Child("flaky", lambda: subprocess.Popen(["true"]))
    child.process.wait()
    delays = []
    for _ in range(CRASH_LIMIT):
        child.exited(now=100.0)
        delays.append(child.restart_at - 100.0)
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0]


def test_exits_further_apart_than_the_window_are_forgiven():
    child = Child("flaky", lambda: subprocess.Popen(["true"]))
    child.process.wait()
    for minute in range(CRASH_LIMIT + 1):
        assert child.exited(now=minute * 61.0) == 1


def test_the_stack_stops_when_a_child_keeps_exiting(monkeypatch):
    monkeypatch.setattr(runstack, "FIRST_RESTART_DELAY_SECONDS", 0.01)
    monkeypatch.setattr(runstack, "POLL_SECONDS", 0.01)
    broken = Child("broken", lambda: subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"]))
    with pytest.raises(CommandError, match=f"broken exited with status 3, {CRASH_LIMIT} times within 60 s"):
        runstack.Command()._supervise([broken])


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:hunter2@cache:6380/1", "redis://cache:6380/1"),
        ("redis://app:hunter2@cache/0", "redis://app@cache/0"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
    ],
)
def test_redis_urls_are_printed_without_their_password(url, shown):
    assert without_password(url) == shown


def test_a_postgresql_database_is_described_without_its_password():
    database = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "eventhub",
        "USER": "app",
        "PASSWORD": "hunter2",
        "HOST": "db",
        "PORT": 5433,
    }
    assert describe_database(database) == "PostgreSQL app@db:5433/eventhub"
