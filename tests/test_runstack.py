"""`make run` (manage.py runstack): with no REDIS_URL and nothing on the port, it brings its own Redis."""

import os
import signal
import subprocess
import sys
import urllib.request

from dashboard.embedded_redis import redis_answers

from .conftest import ROOT, free_port, wait_for_port


def test_runstack_starts_embedded_redis_and_stops_everything_on_ctrl_c(subprocess_env):
    redis_port, http_port = free_port(), free_port()
    env = {k: v for k, v in subprocess_env.items() if k != "REDIS_URL"}
    env["EVENTHUB_EMBEDDED_REDIS_PORT"] = str(redis_port)
    stack = subprocess.Popen(
        [sys.executable, "manage.py", "runstack", "--port", str(http_port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_port(http_port, timeout=30)
        assert redis_answers(f"redis://127.0.0.1:{redis_port}/0")
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/accounts/login/") as page:
            assert page.status == 200
        os.killpg(stack.pid, signal.SIGINT)
        stack.wait(timeout=30)
    finally:
        if stack.poll() is None:
            os.killpg(stack.pid, signal.SIGKILL)
    assert not redis_answers(f"redis://127.0.0.1:{redis_port}/0")
