"""Redis Streams transport: carries delivery ids from publishers to dispatch workers.

Redis holds only ids; the delivery itself is in the database. Losing Redis loses no work: the
sweeper re-enqueues every due, unfinished delivery it finds in the database.
"""

import logging
from functools import cache

import redis
from django.conf import settings

log = logging.getLogger(__name__)

GROUP = "dispatchers"


def _key(name: str) -> str:
    return f"{settings.EVENTHUB['REDIS_PREFIX']}:{name}"


def stream_key() -> str:
    return _key("deliveries")


def delayed_key() -> str:
    return _key("delayed")


@cache
def client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=2)


def enqueue(delivery_ids: list) -> bool:
    """Hand deliveries to the workers. False when Redis did not take them (the sweeper will)."""
    if not delivery_ids:
        return True
    try:
        with client().pipeline(transaction=False) as pipe:
            for delivery_id in delivery_ids:
                pipe.xadd(stream_key(), {"d": str(delivery_id)})
            pipe.execute()
    except redis.RedisError:
        log.warning("%d deliveries not enqueued; the sweeper will pick them up", len(delivery_ids), exc_info=True)
        return False
    return True
