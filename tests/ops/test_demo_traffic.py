"""`manage.py demo_traffic` says "Ctrl-C stops it": it does, even while a publish waits on the database."""

import re
import signal
import socket
import subprocess
import sys
import time

from django.db import connection, transaction

from tests.conftest import ROOT
from tests.waiting import wait_until

# Generous for a loaded CI machine; before the fix a publish waiting on SQLite's lock held Ctrl-C for its
# whole 20 s busy timeout.
STOPPED_WITHIN_SECONDS = 5.0


def _hold_the_write_lock() -> None:
    """Inside a transaction: make every publish wait (SQLite has one writer; PostgreSQL locks the table)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("LOCK TABLE dashboard_event IN SHARE MODE")
        else:
            cursor.execute("DELETE FROM dashboard_event WHERE 0 = 1")


def _publishes_waiting() -> bool:
    if connection.vendor != "postgresql":
        # SQLite shows no waiters; half-second ticks at 50 events/s mean one is waiting after a second.
        time.sleep(1.0)
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        return cursor.fetchone()[0] > 0


def test_ctrl_c_stops_demo_traffic_while_a_publish_waits_on_a_lock(subprocess_env):
    demo = subprocess.Popen(
        [sys.executable, "manage.py", "demo_traffic", "--port", "0", "--rate", "50"],
        cwd=ROOT,
        env=subprocess_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert "Ctrl-C stops it" in demo.stdout.readline()
        with transaction.atomic():
            _hold_the_write_lock()
            wait_until(_publishes_waiting)
            demo.send_signal(signal.SIGINT)
            started = time.monotonic()
            demo.wait(timeout=30)
            stopped_after = time.monotonic() - started
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    assert stopped_after < STOPPED_WITHIN_SECONDS
    assert demo.returncode == 0


def test_demo_traffic_says_where_its_receiver_listens_when_the_port_is_taken(subprocess_env):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        demo = subprocess.Popen(
            [sys.executable, "manage.py", "demo_traffic", "--port", str(port)],
            cwd=ROOT,
            env=subprocess_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            line = demo.stdout.readline()
        finally:
            demo.send_signal(signal.SIGINT)
            demo.wait(timeout=30)
    assert re.match(rf"Demo shop: its webhook receiver listens on http://127\.0\.0\.1:\d+ \({port} was taken\)", line)
