"""Probes for load balancers and orchestrators: `GET /healthz` (the process answers) and `GET /readyz`
(the database and Redis answer, every migration is applied, dispatch workers are heartbeating).

They are served straight from ASGI, in front of Django: no session, CSRF or authentication, and no Host
check, since a probe usually addresses the server by its IP. A readiness answer is computed at most once
per READY_CACHE_SECONDS per process, in a thread, so a storm of probes costs one round of checks a second
and never blocks the event loop.
"""

import asyncio
import logging
import time
from dataclasses import dataclass

import orjson
import redis
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor

from dashboard.delivery import transport
from dashboard.ui import stats

log = logging.getLogger(__name__)

READY_CACHE_SECONDS = 1.0
PROBE_PATHS = ("/healthz", "/readyz")


@dataclass(frozen=True)
class Readiness:
    checks: dict[str, str]  # check name → "ok" or what is wrong

    @property
    def ready(self) -> bool:
        return all(outcome == "ok" for outcome in self.checks.values())

    def to_dict(self) -> dict:
        return {"status": "ready" if self.ready else "not ready", "checks": self.checks}


_migrations_applied = False  # once true it stays true: new migrations come with new code, hence a restart


def _check_database() -> tuple[str, str]:
    """The database answers a query, and (second) whether every migration on disk is applied."""
    global _migrations_applied
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        if not _migrations_applied:
            executor = MigrationExecutor(connection)
            _migrations_applied = not executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as error:
        return f"unreachable: {error}".strip(), "unknown"
    finally:
        connection.close()
    return "ok", "ok" if _migrations_applied else "not applied: run manage.py migrate"


def _check_redis() -> str:
    try:
        transport.client().ping()
    except redis.RedisError as error:
        return f"unreachable: {error}"
    return "ok"


def _check_workers() -> str:
    if not settings.EVENTHUB["READY_NEEDS_WORKERS"]:
        return "ok"
    workers = stats.workers_up()
    if workers is None:
        return "unknown: Redis does not answer"
    return "ok" if workers else "no dispatch worker has sent a heartbeat lately"


def readiness() -> Readiness:
    """Run every readiness check (blocking: call it from a thread)."""
    database, migrations = _check_database()
    return Readiness(
        checks={"database": database, "migrations": migrations, "redis": _check_redis(), "workers": _check_workers()}
    )


class _ReadinessCache:
    """The latest readiness, shared by concurrent probes: one computation at a time, reused for a second."""

    def __init__(self) -> None:
        self._at = float("-inf")
        self._latest: Readiness | None = None
        self._lock: asyncio.Lock | None = None

    async def get(self) -> Readiness:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._latest is None or time.monotonic() - self._at >= READY_CACHE_SECONDS:
                self._latest = await asyncio.to_thread(readiness)
                self._at = time.monotonic()
                if not self._latest.ready:
                    log.warning("not ready: %s", self._latest.checks)
            return self._latest


class HealthProbes:
    """ASGI middleware: answers GET and HEAD of the probe paths itself, passes everything else to `app`."""

    def __init__(self, app) -> None:
        self.app = app
        self._readiness = _ReadinessCache()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] not in PROBE_PATHS:
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            await _answer(send, scope, 405, {"error": "Use GET or HEAD."}, [(b"allow", b"GET, HEAD")])
        elif scope["path"] == "/healthz":
            await _answer(send, scope, 200, {"status": "ok"})
        else:
            state = await self._readiness.get()
            await _answer(send, scope, 200 if state.ready else 503, state.to_dict())


async def _answer(send, scope, status: int, body: dict, extra_headers: list | None = None) -> None:
    content = orjson.dumps(body)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
        (b"cache-control", b"no-store"),
        *(extra_headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else content})
