"""Event-sourcing benchmarks: stream appends with an expected version, and projection catch-up.

    python bench/eventsourcing.py [--server postgres://postgres@127.0.0.1:5432] [--seconds 5] [--sqlite]

Creates a throwaway database (`eventhub_bench_es` on that PostgreSQL server, dropped first and at the
end; or a temporary SQLite file with --sqlite), builds the schema from the models, and measures:

1. Single-event appends with an exact expected version (each writer appends to its own streams and
   expects the version it last wrote), in process with 1, 4 and 8 writer threads, and over HTTP
   (`POST /api/v1/streams/<type>/<id>/events` against a real Daphne) with 16 concurrent clients.
2. Contended appends: 8 threads appending to one stream, each expecting the version it just read
   (how many win, how many get a 409).
3. Projection catch-up: 40,000 Order events (OrderCreated, then about half shipped or cancelled) folded
   into the `order_views` read model from position 0, at the worker's default batch size.

Prints a markdown report and writes it to docs/benchmarks/eventsourcing.md.
"""

import argparse
import asyncio
import os
import platform
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "benchmarks" / "eventsourcing.md"
BENCH_DB = "eventhub_bench_es"
PROJECTION_ORDERS = 26_000


def _prepare_database(args: argparse.Namespace) -> str:
    """Point DATABASE_URL at a fresh database and return a description of it."""
    if args.sqlite:
        path = Path(tempfile.mkdtemp()) / "bench.sqlite3"
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
        return f"SQLite (WAL) at {path}"
    import psycopg

    with psycopg.connect(f"{args.server}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {BENCH_DB}")
        version = admin.execute("SHOW server_version").fetchone()[0]
    os.environ["DATABASE_URL"] = f"{args.server}/{BENCH_DB}"
    return f"PostgreSQL {version} on {urlsplit(args.server).hostname}"


def _drop_database(args: argparse.Namespace) -> None:
    if args.sqlite:
        return
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(f"{args.server}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eventhub.settings")
    os.environ["DEBUG"] = "0"  # production settings: Django keeps no query log
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.apps import apps
    from django.db import connection

    # The schema straight from the models, so the bench does not depend on the state of migrations.
    with connection.schema_editor() as editor:
        for model in apps.get_models():
            editor.create_model(model)


def _appends(writers: int, seconds: float, tag: str) -> tuple[int, list[float]]:
    """Each writer appends single events to its own streams (a new stream every 50 events)."""
    from django.db import connection

    from dashboard.eventsourcing.streams import StreamName, append
    from dashboard.ingest.publishing import EventDraft

    counts, latencies, lock = [0] * writers, [], threading.Lock()
    start = threading.Barrier(writers + 1)
    deadline: list[float] = []

    def writer(n: int) -> None:
        mine: list[float] = []
        try:
            start.wait()
            version, stream = 0, 0
            while time.monotonic() < deadline[0]:
                if version == 50:
                    version, stream = 0, stream + 1
                name = StreamName("Account", f"{tag}-{n}-{stream}")
                began = time.perf_counter()
                draft = EventDraft(source="bench", detail_type="Deposited", detail={"amount": version})
                append(name, [draft], expected_version=version)
                mine.append(time.perf_counter() - began)
                version += 1
            counts[n] = len(mine)
        finally:
            connection.close()
            with lock:
                latencies.extend(mine)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    deadline.append(time.monotonic() + seconds)
    start.wait()
    for thread in threads:
        thread.join()
    return sum(counts), latencies


def _contended(writers: int, seconds: float) -> tuple[int, int]:
    from django.db import connection

    from dashboard.eventsourcing.streams import StreamName, WrongExpectedVersion, append, stream_version
    from dashboard.ingest.publishing import EventDraft

    name = StreamName("Account", "hot")
    wins, conflicts, lock = [0], [0], threading.Lock()
    deadline = time.monotonic() + seconds

    def writer() -> None:
        try:
            while time.monotonic() < deadline:
                seen = stream_version(name)
                try:
                    append(name, [EventDraft(source="bench", detail_type="Deposited", detail={})], seen)
                    outcome = wins
                except WrongExpectedVersion:
                    outcome = conflicts
                with lock:
                    outcome[0] += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=writer) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return wins[0], conflicts[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _http_appends(concurrency: int, seconds: float) -> tuple[int, list[float], int]:
    import aiohttp

    from dashboard.models import ApiKey

    key, secret = ApiKey.issue("bench", ["publish"])
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "eventhub.asgi:application"],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not _listening(port):
            if time.monotonic() > deadline:
                raise SystemExit("daphne did not start")
            time.sleep(0.1)
        return asyncio.run(_http_clients(aiohttp, port, f"Bearer {key.access_key_id}:{secret}", concurrency, seconds))
    finally:
        server.terminate()
        server.wait(10)


async def _http_clients(aiohttp, port: int, auth: str, concurrency: int, seconds: float):
    headers = {"Authorization": auth, "Content-Type": "application/json"}
    latencies: list[float] = []
    errors = [0]

    async def client(session, n: int) -> None:
        version, stream = 0, 0
        while time.monotonic() < deadline:
            if version == 50:
                version, stream = 0, stream + 1
            url = f"http://127.0.0.1:{port}/api/v1/streams/Account/http-{n}-{stream}/events"
            body = {"expected_version": version, "events": [{"detail-type": "Deposited", "detail": {"v": version}}]}
            began = time.perf_counter()
            async with session.post(url, json=body, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    errors[0] += 1
                    continue
            latencies.append(time.perf_counter() - began)
            version += 1

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        deadline = time.monotonic() + 1.0
        await asyncio.gather(*(client(session, n) for n in range(concurrency)))  # warm-up
        deadline = time.monotonic() + seconds
        latencies.clear()
        await asyncio.gather(*(client(session, 1000 + n) for n in range(concurrency)))
    return len(latencies), latencies, errors[0]


def _seed_orders(orders: int) -> int:
    from dashboard.models import Event

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    batch = []
    for n in range(orders):
        order_id = f"ord-{n:07d}"
        stream = {"source": "shop.orders", "aggregate_type": "Order", "aggregate_id": order_id, "time": t0}
        items = [{"sku": f"sku-{n % 40}", "quantity": 1 + n % 3, "price": 10 + n % 90}]
        detail = {"orderId": order_id, "customer": f"c{n % 500}", "items": items, "total": 10 + n % 90}
        batch.append(Event(detail_type="OrderCreated", detail=detail, version=1, **stream))
        if n % 2:
            kind = "OrderShipped" if n % 6 != 1 else "OrderCancelled"
            batch.append(Event(detail_type=kind, detail={"orderId": order_id}, version=2, **stream))
    Event.objects.bulk_create(batch, batch_size=2000)
    return len(batch)


def _catch_up() -> tuple[int, float]:
    from dashboard.eventsourcing import projection_runner

    events = _seed_orders(PROJECTION_ORDERS)
    began = time.perf_counter()
    projection_runner.catch_up("order_views")
    return events, time.perf_counter() - began


def _ms(values: list[float], q: float) -> str:
    ordered = sorted(values)
    return f"{1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]:.1f}" if ordered else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server URL")
    parser.add_argument("--sqlite", action="store_true", help="Measure SQLite instead")
    parser.add_argument("--seconds", type=float, default=5.0, help="Per append measurement")
    args = parser.parse_args()
    database = _prepare_database(args)
    try:
        _setup_django()
        from django.conf import settings

        lines = [
            "# Event-sourcing benchmarks",
            "",
            f"`python bench/eventsourcing.py{' --sqlite' if args.sqlite else ''}` on {database}; "
            f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores, "
            f"{datetime.now(UTC):%Y-%m-%d}, load average {os.getloadavg()[0]:.1f} at the start "
            "(a shared machine: figures are indicative).",
            "",
            "## Single-event appends with an exact expected version",
            "",
            "| writers | appends/s | p50 ms | p99 ms |",
            "|---|---|---|---|",
        ]
        for writers in (1, 4, 8):
            count, latencies = _appends(writers, args.seconds, f"w{writers}")
            label = f"{writers} thread{'s' if writers > 1 else ''}"
            rate, p50, p99 = f"{count / args.seconds:,.0f}", _ms(latencies, 0.5), _ms(latencies, 0.99)
            lines.append(f"| {label} | {rate} | {p50} | {p99} |")
            print(lines[-1], flush=True)
        count, latencies, errors = _http_appends(16, args.seconds)
        lines.append(
            f"| 16 HTTP clients (Daphne) | {count / args.seconds:,.0f} | {_ms(latencies, 0.5)} | "
            f"{_ms(latencies, 0.99)} |" + (f" {errors} errors" if errors else "")
        )
        print(lines[-1], flush=True)
        wins, conflicts = _contended(8, args.seconds)
        lines += [
            "",
            f"Contended: 8 threads on one stream for {args.seconds:g} s: {wins / args.seconds:,.0f} appends/s won, "
            f"{conflicts / args.seconds:,.0f}/s refused with WrongExpectedVersion (409 over HTTP).",
        ]
        print(lines[-1], flush=True)
        events, elapsed = _catch_up()
        lines += [
            "",
            "## Projection catch-up (`order_views`, from position 0)",
            "",
            f"{events:,} Order events in {elapsed:.1f} s: **{events / elapsed:,.0f} events/s** "
            f"(batch {settings.EVENTHUB['PROJECTION_BATCH']}, one transaction per batch with its checkpoint).",
        ]
        print(lines[-1], flush=True)
    finally:
        _drop_database(args)
    report = "\n".join(lines) + "\n"
    if not args.sqlite:
        REPORT.write_text(report)
    print("\n" + report)


if __name__ == "__main__":
    main()
