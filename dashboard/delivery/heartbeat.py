"""Which dispatch workers are up, for the overview: each worker stamps its name in one Redis sorted set every
HEARTBEAT_SECONDS (score: its Unix time); a worker whose stamp is older than UP_WITHIN_SECONDS is down.

A sorted set, not a key per worker, so reading it is one command; a worker that died without saying so is
removed by the next beat of any worker once its stamp is an hour old. Scores come from each worker's clock:
machines are expected to keep time (NTP) to well within UP_WITHIN_SECONDS.
"""

import time

import redis.asyncio as aioredis
from django.conf import settings

HEARTBEAT_SECONDS = 5.0
# Three missed beats: a busy worker still beats (the beat is its own task), a dead one misses all three.
UP_WITHIN_SECONDS = 15.0
FORGET_AFTER_SECONDS = 3600.0


def workers_key() -> str:
    return f"{settings.EVENTHUB['REDIS_PREFIX']}:workers"


async def beat(redis: aioredis.Redis, name: str) -> None:
    """Say that worker `name` is up (call every HEARTBEAT_SECONDS)."""
    now = time.time()
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zadd(workers_key(), {name: now})
        pipe.zremrangebyscore(workers_key(), "-inf", now - FORGET_AFTER_SECONDS)
        await pipe.execute()


async def sign_off(redis: aioredis.Redis, name: str) -> None:
    """Say that worker `name` stopped, so the overview need not wait for its stamp to age."""
    await redis.zrem(workers_key(), name)
