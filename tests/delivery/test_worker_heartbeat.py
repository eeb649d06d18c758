"""The overview knows which dispatch workers are up: each beats in Redis, and a silent one drops out."""

import asyncio
import time

import redis.asyncio as aioredis
from django.urls import reverse

from dashboard.delivery import heartbeat, transport
from dashboard.ui import stats


def _run(redis_url: str, step) -> None:
    async def main() -> None:
        client = aioredis.Redis.from_url(redis_url)
        try:
            await step(client)
        finally:
            await client.aclose()

    asyncio.run(main())


def test_a_worker_that_beats_is_up(redis_url):
    _run(redis_url, lambda client: heartbeat.beat(client, "host-1-abc"))
    assert stats.workers_up() == ["host-1-abc"]


def test_a_worker_whose_last_beat_is_too_old_is_not_up(redis_url, redis):
    redis.zadd(heartbeat.workers_key(), {"host-2-dead": time.time() - heartbeat.UP_WITHIN_SECONDS - 1})
    _run(redis_url, lambda client: heartbeat.beat(client, "host-1-abc"))
    assert stats.workers_up() == ["host-1-abc"]


def test_a_worker_that_signs_off_is_not_up(redis_url):
    async def beat_then_sign_off(client) -> None:
        await heartbeat.beat(client, "host-1-abc")
        await heartbeat.sign_off(client, "host-1-abc")

    _run(redis_url, beat_then_sign_off)
    assert stats.workers_up() == []


def test_a_beat_forgets_workers_silent_for_an_hour(redis_url, redis):
    redis.zadd(heartbeat.workers_key(), {"host-3-gone": time.time() - heartbeat.FORGET_AFTER_SECONDS - 1})
    _run(redis_url, lambda client: heartbeat.beat(client, "host-1-abc"))
    assert redis.zrange(heartbeat.workers_key(), 0, -1) == [b"host-1-abc"]


def test_workers_up_is_unknown_when_redis_does_not_answer(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    transport.client.cache_clear()
    try:
        assert stats.workers_up() is None
    finally:
        transport.client.cache_clear()


def test_the_overview_counts_the_workers_that_are_up(redis_url, admin_client):
    _run(redis_url, lambda client: heartbeat.beat(client, "host-1-abc"))
    page = admin_client.get(reverse("dashboard:overview")).content.decode()
    assert '<div class="kpi-value" data-kpi="workers">1</div>' in page
    assert 'title="host-1-abc"' in page
