"""Discovery runs by itself: `discover_schemas` (started by `make run`) keeps passing over opted-in buses."""

import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings

from dashboard.ingest.publishing import publish_entries
from dashboard.models import EventSchema
from dashboard.schemas.discovery import enable_discovery

pytestmark = pytest.mark.django_db(transaction=True)

SEEN = {"source": "shop", "detail-type": "Seen", "detail": {"sku": "tea"}}


def start(env: dict, interval: str) -> subprocess.Popen:
    command = [sys.executable, "manage.py", "discover_schemas", "--interval", interval]
    return subprocess.Popen(command, env=env, cwd=settings.BASE_DIR, stdout=subprocess.DEVNULL)


def discovered(process: subprocess.Popen, timeout: float = 20) -> bool:
    """Await the loop's registration of the published kind (or its exit, or the timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if EventSchema.objects.filter(source="shop", detail_type="Seen").exists():
            return True
        time.sleep(0.05)
    return False


def stop(process: subprocess.Popen) -> float:
    """SIGTERM the loop; how long it took to exit."""
    asked = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    return time.monotonic() - asked


def test_the_loop_registers_a_schema_for_events_published_while_it_runs(subprocess_env):
    enable_discovery("default")
    process = start(subprocess_env, "0.1")
    try:
        publish_entries([SEEN])
        assert discovered(process)
    finally:
        stop(process)


def test_the_loop_stops_at_once_on_sigterm_even_between_long_passes(subprocess_env):
    enable_discovery("default")
    publish_entries([SEEN])
    process = start(subprocess_env, "60")
    try:
        assert discovered(process)  # the first pass is over: the loop now waits 60 s
    finally:
        assert stop(process) < 3
    assert process.returncode == 0
