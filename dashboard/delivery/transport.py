"""Redis Streams transport: carries delivery ids from publishers to dispatch workers.

Redis holds only ids; the delivery itself is in the database. Losing Redis loses no work: the
sweeper re-enqueues every due, unfinished delivery it finds in the database.

Keys (all under settings.EVENTHUB["REDIS_PREFIX"]):
- `deliveries`: the stream, read by the consumer group `dispatchers` (XREADGROUP/XACK/XAUTOCLAIM);
  an entry is {"d": delivery id} plus "r": "1" when the delivery already holds a rate-limit slot.
- `delayed`: sorted set of retries (score: due time, Unix seconds), moved to the stream when due.
- `rate:<target id>`: a target's rate limiter; `sweeper`: the lock that lets one worker sweep at a time.
"""

import logging
import time
from collections.abc import Iterable
from datetime import datetime
from functools import cache

import redis
import redis.asyncio as aioredis
from django.conf import settings

log = logging.getLogger(__name__)

GROUP = "dispatchers"
RESERVED_SUFFIX = "|r"

# Moves due retries from the sorted set to the stream in one step, so a crash cannot lose or double them.
_MOVE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  local bar = string.find(member, '|', 1, true)
  if bar then
    redis.call('XADD', KEYS[2], '*', 'd', string.sub(member, 1, bar - 1), 'r', '1')
  else
    redis.call('XADD', KEYS[2], '*', 'd', member)
  end
  redis.call('ZREM', KEYS[1], member)
end
return #due
"""

# GCRA with reservation: returns how many seconds from now this request's slot starts, and books it,
# so N waiting deliveries get N distinct slots instead of all retrying at once. Redis's clock is the
# one clock every worker shares.
_RESERVE_SLOT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(tat, now)
local ttl = math.ceil((slot + interval - now) * 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.6f', slot + interval), 'PX', ttl)
return string.format('%.6f', slot - now)
"""


def _key(name: str) -> str:
    return f"{settings.EVENTHUB['REDIS_PREFIX']}:{name}"


def stream_key() -> str:
    return _key("deliveries")


def delayed_key() -> str:
    return _key("delayed")


def sweeper_lock_key() -> str:
    return _key("sweeper")


def rate_key(target_id: int) -> str:
    return _key(f"rate:{target_id}")


@cache
def client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=2)


def enqueue(delivery_ids: list) -> bool:
    """Hand deliveries to the workers. False when Redis did not take them (the sweeper will)."""
    if not delivery_ids:
        return True
    try:
        # MULTI/EXEC: a worker blocked in XREADGROUP wakes once, for the whole batch, instead of at the first
        # XADD with one entry (a claim of one, then another for the rest).
        with client().pipeline(transaction=True) as pipe:
            for delivery_id in delivery_ids:
                pipe.xadd(stream_key(), {"d": str(delivery_id)})
            pipe.execute()
    except redis.RedisError:
        log.warning("%d deliveries not enqueued; the sweeper will pick them up", len(delivery_ids), exc_info=True)
        return False
    return True


def schedule(due: Iterable[tuple[object, datetime]]) -> bool:
    """Put deliveries in the delayed set, to reach the stream at their due times. False if Redis refused."""
    members = {str(delivery_id): when.timestamp() for delivery_id, when in due}
    if not members:
        return True
    try:
        client().zadd(delayed_key(), members)
    except redis.RedisError:
        log.warning("%d deliveries not scheduled; the sweeper will pick them up", len(members), exc_info=True)
        return False
    return True


class AsyncTransport:
    """The worker's side of the transport, on redis.asyncio."""

    def __init__(self, consumer: str) -> None:
        self.consumer = consumer
        self.redis = aioredis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=10, socket_connect_timeout=2, health_check_interval=15
        )
        self.stream = stream_key()
        self._move_due = self.redis.register_script(_MOVE_DUE)
        self._reserve_slot = self.redis.register_script(_RESERVE_SLOT)

    async def close(self) -> None:
        await self.redis.aclose()

    async def ensure_group(self) -> None:
        """Create the stream and group if missing; from id 0 so entries added before it are read too."""
        try:
            await self.redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def read(self, count: int, block_ms: int) -> list[tuple[str, dict]]:
        """New entries for this consumer; the group is recreated if Redis lost it (FLUSHALL, restart)."""
        try:
            answer = await self.redis.xreadgroup(GROUP, self.consumer, {self.stream: ">"}, count=count, block=block_ms)
        except redis.ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
            log.warning("consumer group missing (Redis flushed or restarted); recreating it")
            await self.ensure_group()
            return []
        return [(_text(entry_id), fields) for _, entries in answer or () for entry_id, fields in entries]

    async def claim_abandoned(self, min_idle_ms: int, count: int) -> list[tuple[str, dict]]:
        """Entries another consumer read but did not acknowledge within min_idle_ms (it died or hung)."""
        claimed: list[tuple[str, dict]] = []
        start = "0-0"
        while len(claimed) < count:
            try:
                start, entries, *_ = await self.redis.xautoclaim(
                    self.stream, GROUP, self.consumer, min_idle_ms, start_id=start, count=count - len(claimed)
                )
            except redis.ResponseError as error:
                if "NOGROUP" in str(error):
                    return claimed
                raise
            claimed += [(_text(entry_id), fields) for entry_id, fields in entries if fields]
            if _text(start) == "0-0":
                break
        return claimed

    async def ack(self, entry_ids: list[str]) -> None:
        if entry_ids:
            await self.redis.xack(self.stream, GROUP, *entry_ids)

    async def add(self, delivery_ids: Iterable[object]) -> None:
        ids = [str(i) for i in delivery_ids]
        if ids:
            async with self.redis.pipeline(transaction=False) as pipe:
                for delivery_id in ids:
                    pipe.xadd(self.stream, {"d": delivery_id})
                await pipe.execute()

    async def schedule(self, due: Iterable[tuple[object, datetime, bool]]) -> None:
        """Delayed retries; `reserved` marks a delivery that already holds a rate-limit slot."""
        members = {str(i) + (RESERVED_SUFFIX if reserved else ""): when.timestamp() for i, when, reserved in due}
        if members:
            await self.redis.zadd(delayed_key(), members)

    async def move_due(self, limit: int = 1000) -> int:
        return int(await self._move_due(keys=[delayed_key(), self.stream], args=[time.time(), limit]))

    async def reserve_slot(self, target_id: int, per_second: float) -> float:
        """Seconds until this delivery may be sent under the target's rate limit (0 when it may go now)."""
        return float(await self._reserve_slot(keys=[rate_key(target_id)], args=[1.0 / per_second]))

    async def try_lock(self, key: str, seconds: float) -> bool:
        return bool(await self.redis.set(key, self.consumer, nx=True, px=max(int(seconds * 1000), 1)))

    async def trim(self) -> None:
        """Drop acknowledged entries: everything older than both the oldest pending and the last read one."""
        try:
            groups = await self.redis.xinfo_groups(self.stream)
            pending = await self.redis.xpending(self.stream, GROUP)
        except redis.ResponseError:
            return
        group = next((g for g in groups if _text(g["name"]) == GROUP), None)
        if group is None:
            return
        millis, sequence = _entry_order(_text(group["last-delivered-id"]))
        floor = f"{millis}-{sequence + 1}"  # everything up to the last delivered entry...
        if pending["pending"]:
            floor = min(floor, _text(pending["min"]), key=_entry_order)  # ...unless still pending
        await self.redis.xtrim(self.stream, minid=floor, approximate=False)

    async def forget_idle_consumers(self, idle_ms: int) -> None:
        """Remove consumers that hold nothing and were idle long (workers that exited or died)."""
        try:
            consumers = await self.redis.xinfo_consumers(self.stream, GROUP)
        except redis.ResponseError:
            return
        for consumer in consumers:
            if consumer["pending"] == 0 and consumer["idle"] > idle_ms and _text(consumer["name"]) != self.consumer:
                await self.redis.xgroup_delconsumer(self.stream, GROUP, consumer["name"])


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _entry_order(entry_id: str) -> tuple[int, int]:
    millis, _, sequence = entry_id.partition("-")
    return int(millis), int(sequence or 0)


def delivery_of(fields: dict) -> tuple[str, bool]:
    """The delivery id an entry carries, and whether it already holds a rate-limit slot."""
    decoded = {_text(k): _text(v) for k, v in fields.items()}
    return decoded.get("d", ""), decoded.get("r") == "1"
