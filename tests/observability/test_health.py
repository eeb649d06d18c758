"""GET /healthz and /readyz: unauthenticated probes answered in front of Django, and LOG_FORMAT=json."""

import json
import logging
import subprocess
import sys

import pytest
import redis.asyncio as aioredis

from dashboard.delivery import heartbeat, transport
from dashboard.observability.health import HealthProbes
from dashboard.observability.json_logging import JsonFormatter
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db(transaction=True)


async def _never_called(scope, receive, send):
    raise AssertionError("a probe reached the app behind the probes")


async def call(app, path: str, method: str = "GET", host: bytes = b"10.1.2.3") -> tuple[int, dict]:
    """One request through an ASGI app: (status, parsed JSON body)."""
    scope = {"type": "http", "method": method, "path": path, "headers": [(b"host", host)], "query_string": b""}
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], json.loads(sent[1]["body"] or b"{}")


async def a_worker_beats(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    await heartbeat.beat(client, "worker-1")
    await client.aclose()


async def test_healthz_answers_without_credentials_whatever_the_host():
    assert await call(HealthProbes(_never_called), "/healthz", host=b"not-an-allowed-host") == (200, {"status": "ok"})


async def test_readyz_is_ready_when_database_redis_migrations_and_a_worker_answer(redis_url):
    await a_worker_beats(redis_url)
    status, body = await call(HealthProbes(_never_called), "/readyz")
    assert status == 200
    assert body == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "redis": "ok", "workers": "ok"},
    }


async def test_readyz_is_503_while_no_worker_heartbeats():
    status, body = await call(HealthProbes(_never_called), "/readyz")
    assert status == 503
    assert body["checks"]["workers"] == "no dispatch worker has sent a heartbeat lately"
    assert body["checks"]["database"] == "ok"


async def test_readyz_can_leave_workers_out(settings):
    settings.EVENTHUB = settings.EVENTHUB | {"READY_NEEDS_WORKERS": False}
    assert (await call(HealthProbes(_never_called), "/readyz"))[0] == 200


async def test_readyz_is_503_when_redis_does_not_answer(settings, redis_url):
    await a_worker_beats(redis_url)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    transport.client.cache_clear()
    status, body = await call(HealthProbes(_never_called), "/readyz")
    transport.client.cache_clear()
    assert status == 503
    assert body["checks"]["redis"].startswith("unreachable")


async def test_other_paths_go_to_the_app_behind():
    reached = []

    async def app(scope, receive, send):
        reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    await call(HealthProbes(app), "/healthz/extra")
    assert reached == ["/healthz/extra"]


async def test_probes_refuse_other_methods():
    assert (await call(HealthProbes(_never_called), "/readyz", method="POST"))[0] == 405


async def test_the_deployed_asgi_application_serves_the_probes():
    from eventhub.asgi import application

    assert (await call(application, "/healthz"))[0] == 200


def test_json_log_record_is_one_line_with_the_callers_extra_fields():
    record = logging.LogRecord("eventhub.test", logging.WARNING, __file__, 1, "sent %s\nnext", ("it",), None)
    record.delivery_id = "msg_01"
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert (entry["level"], entry["logger"], entry["message"]) == ("WARNING", "eventhub.test", "sent it\nnext")
    assert entry["delivery_id"] == "msg_01"


def test_log_format_json_makes_every_log_line_a_json_object(subprocess_env):
    code = "import logging; logging.getLogger('eventhub.x').warning('hello', extra={'request_id': 'r-1'})"
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=subprocess_env | {"LOG_FORMAT": "json"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert [(line["message"], line["request_id"]) for line in lines] == [("hello", "r-1")]
