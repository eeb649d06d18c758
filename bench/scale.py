"""Pages and reads against a large store (issue 15): latency, query plans and publish throughput.

Fill a PostgreSQL database first (`manage.py seed_history --events 10000000`), then:

    python bench/scale.py latency --database-url URL [--requests 20] [--rate 1000] [--json out.json]
    python bench/scale.py explain --database-url URL [--json out.json]
    python bench/scale.py publish --database-url URL [--seconds 10] [--concurrency 16]
    python bench/scale.py retention --database-url URL [--bus iot] [--days 21]

`latency` starts a private Redis and Daphne on the database (as bench/publish.py does), signs in an
operator, and times every dashboard page and read API: sequential requests after two warm-ups, p50/p95/max,
first idle, then while a background process publishes at `--rate` events/s (events no rule matches,
so the backlog does not grow without a worker). `explain` renders each page in-process, captures every
SQL statement it runs and shows EXPLAIN (ANALYZE, BUFFERS) verdicts: the slowest statement, and any
sequential scan of the events, deliveries or attempts tables. `publish` measures publish throughput on
that database and on an empty scratch database of the same server (same client, same settings).
`retention` times today's retention purge of one bus (destructive: run it last).
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import subprocess
import sys
import time
from contextlib import nullcontext
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chaos.services import PrivateRedis, Stack, base_env, create_schema, run_directory, scratch_database  # noqa: E402

BUDGET_MS = 200.0
BIG_TABLES = ("dashboard_event", "dashboard_delivery", "dashboard_deliveryattempt")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered))) - 1))] if ordered else float("nan")


def landmarks(database_url: str) -> dict:
    """Ids the URLs need, read from the database: a busy target and rule, old and new events, a stream."""
    import psycopg

    with psycopg.connect(database_url) as connection:
        one = lambda sql: connection.execute(sql).fetchone()  # noqa: E731
        top = one("SELECT max(position) FROM dashboard_event")[0]
        target, rule = one(
            "SELECT t.id, t.rule_id FROM dashboard_target t JOIN dashboard_rule r ON r.id = t.rule_id "
            "WHERE r.name = 'payments-to-ledger' ORDER BY t.id LIMIT 1"
        ) or one("SELECT id, rule_id FROM dashboard_target ORDER BY id LIMIT 1")
        stream = one(
            "SELECT aggregate_id FROM dashboard_event WHERE aggregate_type = 'Order' AND position > %s "
            "ORDER BY position LIMIT 1" % (top // 2)
        )[0]
        middle = one("SELECT time FROM dashboard_event WHERE position >= %s ORDER BY position LIMIT 1" % (top // 2))[0]
    return {"top": top, "target": target, "rule": rule, "stream": stream, "middle_time": middle.isoformat()}


def urls(marks: dict) -> list[tuple[str, str, str]]:
    """(kind, name, path): kind is `page` (session) or `api` (bearer key)."""
    top, middle_time = marks["top"], quote(marks["middle_time"])
    pattern = quote(json.dumps({"source": ["shop.payments"], "detail": {"amount": [{"numeric": [">", 990]}]}}))
    rare = quote(json.dumps({"detail-type": ["Key Rotated"], "detail": {"region": ["ap-south-1"]}}))
    pages = [
        ("overview", "/"),
        ("overview refresh (htmx)", "/#htmx"),
        ("events", "/events/"),
        ("events bus=iot", "/events/?bus=iot"),
        ("events source=shop.shipping", "/events/?source=shop.shipping"),
        ("events detail-type=Invoice Paid", "/events/?detail-type=Invoice+Paid"),
        ("events bus+source", "/events/?bus=billing&source=billing.subscriptions"),
        ("events window=15m", "/events/?window=15m"),
        ("events window=7d bus=audit", "/events/?window=7d&bus=audit"),
        ("events pattern (common)", f"/events/?pattern={pattern}"),
        ("events pattern (rare)", f"/events/?pattern={rare}"),
        ("events older page (middle)", f"/events/?before={top // 2}"),
        ("events older page (oldest)", "/events/?before=1000"),
        ("event detail (old)", "/events/1234/"),
        ("event detail (new)", f"/events/{top}/"),
        ("dead letters", "/dead-letters/"),
        ("dead letters target=", f"/dead-letters/?target={marks['target']}"),
        ("dead letters rule=", f"/dead-letters/?rule={marks['rule']}"),
        ("dead letters error=", "/dead-letters/?error=503"),
        ("dead letters status=410", "/dead-letters/?status=410"),
        ("dead letters window=24h", "/dead-letters/?window=24h"),
        ("rules", "/rules/"),
        ("rule detail", f"/rules/{marks['rule']}/"),
        ("target detail", f"/targets/{marks['target']}/"),
        ("streams", "/streams/"),
        ("stream detail", f"/streams/Order/{marks['stream']}/"),
        ("projections", "/projections/"),
    ]
    api = [
        ("GET events", "/api/v1/events"),
        ("GET events bus=iot", "/api/v1/events?bus=iot"),
        ("GET events source=", "/api/v1/events?source=shop.inventory"),
        ("GET events detail-type=", "/api/v1/events?detail-type=Stock+Low"),
        ("GET events since=middle", f"/api/v1/events?since={middle_time}"),
        ("GET events until=middle", f"/api/v1/events?until={middle_time}"),
        ("GET events cursor=middle", f"/api/v1/events?cursor={top // 2}"),
        ("GET events cursor=deep", "/api/v1/events?cursor=5000"),
        ("GET events limit=max", "/api/v1/events?limit=500"),
        ("GET stream", f"/api/v1/streams/Order/{marks['stream']}"),
        ("GET $all after=0", "/api/v1/streams/$all"),
        ("GET $all after=middle", f"/api/v1/streams/$all?after={top // 2}"),
        ("GET $all detail-type=", f"/api/v1/streams/$all?after={top // 2}&detail-type=OrderShipped"),
        ("GET $all aggregate-type=", "/api/v1/streams/$all?aggregate-type=Order"),
        ("GET $all since=middle", f"/api/v1/streams/$all?since={middle_time}"),
        ("GET dead-letters", "/api/v1/dead-letters"),
        ("GET projections", "/api/v1/projections"),
    ]
    return [("page", name, path) for name, path in pages] + [("api", name, path) for name, path in api]


def prepare(env: dict) -> dict:
    """An operator to sign in as and a key that reads and publishes."""
    script = (
        "from django.contrib.auth.models import Group, User; "
        "u, _ = User.objects.get_or_create(username='scale-bench'); u.set_password('scale-bench-pw'); u.save(); "
        "u.groups.add(Group.objects.get(name='operators'))"
    )
    subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, check=True)
    answer = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "create_api_key",
            "--name",
            "scale-bench",
            "--scopes",
            "publish,read,admin",
            "--json",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    key = json.loads(answer.stdout)
    return {
        "username": "scale-bench",
        "password": "scale-bench-pw",
        "bearer": f"Bearer {key['access_key_id']}:{key['secret_access_key']}",
    }


async def _sign_in(session, base: str, who: dict) -> None:
    async with session.get(f"{base}/accounts/login/") as response:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', await response.text()).group(1)
    form = {"csrfmiddlewaretoken": token, "username": who["username"], "password": who["password"]}
    async with session.post(
        f"{base}/accounts/login/", data=form, headers={"Referer": f"{base}/accounts/login/"}
    ) as answer:
        await answer.read()
        if "sessionid" not in {cookie.key for cookie in session.cookie_jar}:
            raise SystemExit(f"sign-in failed: {answer.status}")


async def _time_all(base: str, who: dict, targets: list, requests: int) -> list[dict]:
    import aiohttp

    rows = []
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        await _sign_in(session, base, who)
        for kind, name, path in targets:
            headers = {"Authorization": who["bearer"]} if kind == "api" else {}
            if path.endswith("#htmx"):
                path, headers = path[: -len("#htmx")], {"HX-Request": "true"}
            samples, statuses = [], set()
            for attempt in range(requests + 2):
                started = time.perf_counter()
                async with session.get(base + path, headers=headers, allow_redirects=False) as response:
                    await response.read()
                    statuses.add(response.status)
                if attempt >= 2:
                    samples.append((time.perf_counter() - started) * 1000)
            rows.append(
                {
                    "kind": kind,
                    "name": name,
                    "path": path,
                    "status": sorted(statuses),
                    "p50_ms": percentile(samples, 0.5),
                    "p95_ms": percentile(samples, 0.95),
                    "max_ms": max(samples),
                }
            )
    return rows


def _publisher(base: str, bearer: str, rate: float, stop, counter) -> None:
    """Publish `rate` events/s in batches of 10 on a fixed schedule until `stop` is set."""
    import aiohttp

    async def run() -> None:
        body = json.dumps(
            {
                "entries": [
                    {"bus": "iot", "source": "iot.sensors", "detail-type": "Temperature Reading", "detail": {"c": i}}
                    for i in range(10)
                ]
            }
        )
        headers = {"Authorization": bearer, "Content-Type": "application/json"}
        interval = 10 / rate
        async with aiohttp.ClientSession() as session:

            async def send() -> None:
                async with session.post(f"{base}/api/v1/events", data=body, headers=headers) as response:
                    await response.read()
                    if response.status == 200:
                        with counter.get_lock():
                            counter.value += 10

            pending = set()
            next_at = time.monotonic()
            while not stop.is_set():
                task = asyncio.ensure_future(send())
                pending.add(task)
                task.add_done_callback(pending.discard)
                next_at += interval
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            await asyncio.gather(*pending, return_exceptions=True)

    asyncio.run(run())


def latency(args) -> list[dict]:
    marks = landmarks(args.database_url)
    targets = urls(marks)
    results = []
    with run_directory("eh-bench-scale-") as directory:
        redis = PrivateRedis(directory / "redis").start()
        env = base_env(args.database_url, redis.url)
        stack = Stack(env, directory)
        try:
            who = prepare(env)
            base = stack.start_servers(args.servers)
            for phase, rate in (("idle", 0.0), (f"publishing {args.rate:g}/s", args.rate)):
                stop, counter = multiprocessing.Event(), multiprocessing.Value("q", 0)
                publisher = None
                if rate:
                    publisher = multiprocessing.Process(
                        target=_publisher, args=(base, who["bearer"], rate, stop, counter)
                    )
                    publisher.start()
                    time.sleep(3)  # settle into the rate before timing
                started, before = time.monotonic(), counter.value
                rows = asyncio.run(_time_all(base, who, targets, args.requests))
                achieved = (counter.value - before) / (time.monotonic() - started)
                if publisher:
                    stop.set()
                    publisher.join(30)
                for row in rows:
                    row["phase"], row["published_per_s"] = phase, round(achieved)
                results += rows
                print(f"\n{phase} (published {achieved:.0f} events/s while timing)")
                _print_table(rows)
        finally:
            stack.close()
            redis.stop()
    return results


def _print_table(rows: list[dict]) -> None:
    print(f"{'':4} {'name':<34} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  status")
    for row in rows:
        flag = "OVER" if row["p95_ms"] > BUDGET_MS or row["status"] != [200] else ""
        print(
            f"{row['kind']:<4} {row['name']:<34} {row['p50_ms']:8.1f} {row['p95_ms']:8.1f} {row['max_ms']:8.1f}"
            f"  {','.join(map(str, row['status']))} {flag}"
        )


def explain(args) -> list[dict]:
    """Render each URL in-process and EXPLAIN (ANALYZE, BUFFERS) every statement it ran."""
    os.environ.update(base_env(args.database_url, os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")))
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client

    marks = landmarks(args.database_url)
    who = prepare(dict(os.environ))
    page_client = Client(HTTP_HOST="127.0.0.1")
    page_client.force_login(User.objects.get(username="scale-bench"))
    api_client = Client(HTTP_HOST="127.0.0.1", headers={"Authorization": who["bearer"]})
    results = []
    for kind, name, path in urls(marks):
        headers = {}
        if path.endswith("#htmx"):
            path, headers = path[: -len("#htmx")], {"HX-Request": "true"}
        captured: list[tuple[str, object]] = []

        def capture(execute, sql, params, many, context, captured=captured):
            if sql.lstrip().upper().startswith("SELECT"):
                captured.append((sql, params))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(capture):
            answer = (api_client if kind == "api" else page_client).get(path, headers=headers)
        slowest, scans = 0.0, set()
        slowest_sql = ""
        with connection.cursor() as cursor:
            for sql, params in captured:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
                plan = cursor.fetchone()[0]
                plan = json.loads(plan) if isinstance(plan, str) else plan
                took = plan[0]["Execution Time"]
                scans |= set(_seq_scans(plan[0]["Plan"]))
                if took > slowest:
                    slowest, slowest_sql = took, sql
        row = {
            "kind": kind,
            "name": name,
            "status": answer.status_code,
            "queries": len(captured),
            "slowest_ms": round(slowest, 1),
            "seq_scans": sorted(scans),
            "slowest_sql": slowest_sql[:300],
        }
        results.append(row)
        flag = "OVER" if slowest > BUDGET_MS or scans else ""
        print(
            f"{kind:<4} {name:<34} {answer.status_code} {len(captured):>3} queries  slowest {slowest:8.1f} ms  "
            f"seq scans: {', '.join(sorted(scans)) or '-'} {flag}"
        )
        if flag:
            print(f"     {slowest_sql[:400]}")
    return results


def _seq_scans(node: dict):
    if node.get("Node Type") == "Seq Scan" and node.get("Relation Name") in BIG_TABLES:
        yield node["Relation Name"]
    for child in node.get("Plans", []):
        yield from _seq_scans(child)


def publish(args) -> list[dict]:
    """Throughput on the given database, then on an empty scratch database of the same server."""
    from concurrent.futures import ProcessPoolExecutor

    from bench.publish import CLIENT_PROCESSES, issue_key, run_level

    results = []
    with run_directory("eh-bench-scale-publish-") as directory:
        redis = PrivateRedis(directory / "redis").start()
        try:
            for label in ("stored", "empty"):
                database = scratch_database(args.database_url, directory) if label == "empty" else nullcontext(None)
                with database as scratch:
                    url = scratch or args.database_url
                    env = base_env(url, redis.url)
                    if label == "empty":
                        create_schema(env)
                    key = issue_key(env)
                    bearer = f"Bearer {key['access_key_id']}:{key['secret_access_key']}"
                    stack = Stack(env, directory)
                    try:
                        base = stack.start_servers(args.servers)
                        with ProcessPoolExecutor(CLIENT_PROCESSES) as pool:
                            run_level(pool, "native", base, bearer, args.batch, 4, 2.0)  # warm-up
                            for _ in range(args.repeat):
                                level = run_level(
                                    pool, "native", base, bearer, args.batch, args.concurrency, args.seconds
                                )
                                level["database"] = label
                                results.append(level)
                                print(
                                    f"{label:>6}: {level['events_per_s']:8.0f} events/s  p50 {level['p50_ms']:6.1f} ms"
                                    f"  p99 {level['p99_ms']:6.1f} ms  errors {level['errors']}",
                                    flush=True,
                                )
                    finally:
                        stack.close()
        finally:
            redis.stop()
    return results


def retention(args) -> list[dict]:
    """Time today's retention purge (dashboard.eventsourcing.retention) on `--bus` with `--days`. Destructive:
    it deletes that bus's older events for real; run it last."""
    os.environ.update(base_env(args.database_url, os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")))
    import django

    django.setup()
    from django.utils import timezone

    from dashboard.eventsourcing.retention import purge_expired_events
    from dashboard.models import Event
    from dashboard.models.streams import BusRetention

    cutoff = timezone.now() - timedelta(days=args.days)
    expected = Event.objects.filter(bus=args.bus, received_at__lt=cutoff, aggregate_type__isnull=True).count()
    rule, _ = BusRetention.objects.update_or_create(bus=args.bus, defaults={"retention_days": args.days})
    started = time.monotonic()
    try:
        deleted = purge_expired_events()
    finally:
        rule.delete()
    seconds = time.monotonic() - started
    print(
        f"bus {args.bus}, {args.days} days: {deleted} of {expected} expired events deleted in {seconds:.1f} s "
        f"({deleted / seconds:,.0f} events/s)"
    )
    return [{"bus": args.bus, "days": args.days, "expected": expected, "deleted": deleted, "seconds": seconds}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("latency", "explain", "publish", "retention"))
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), required=False)
    parser.add_argument("--requests", type=int, default=20, help="timed requests per URL (after 2 warm-ups)")
    parser.add_argument("--rate", type=float, default=1000.0, help="background publishing, events/s")
    parser.add_argument("--servers", type=int, default=1, help="Daphne processes")
    parser.add_argument("--batch", type=int, default=10, help="publish: entries per request")
    parser.add_argument("--concurrency", type=int, default=16, help="publish: requests in flight")
    parser.add_argument("--seconds", type=float, default=10.0, help="publish: seconds per run")
    parser.add_argument("--repeat", type=int, default=3, help="publish: runs per database")
    parser.add_argument("--bus", default="iot", help="retention: the bus to purge")
    parser.add_argument("--days", type=int, default=21, help="retention: keep this many days")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if not (args.database_url or "").startswith("postgres"):
        raise SystemExit("--database-url (or DATABASE_URL) must name a PostgreSQL database")
    results = {"latency": latency, "explain": explain, "publish": publish, "retention": retention}[args.mode](args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
