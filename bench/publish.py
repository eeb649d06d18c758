"""Publish throughput against a real Daphne: POST /api/v1/events (batches of 1 or 10) or boto3 put_events.

    python bench/publish.py [--batch 10] [--client native|boto3] [--servers 1] [--concurrency 1,4,16,32,64]
                            [--seconds 5] [--json out.json]

Starts a private Redis and Daphne (several processes share one listening socket when --servers > 1, as
behind a load balancer) against a scratch database: a new database on the PostgreSQL server that
DATABASE_URL names, else a throwaway SQLite file. For each concurrency level the clients (in two
processes, so the load generator is not the bottleneck) send for a fixed time; it prints events/s and
latency percentiles and stops at the knee: the first level whose p99 exceeds 500 ms.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chaos.services import PrivateRedis, Stack, base_env, create_schema, run_directory, scratch_database  # noqa: E402

P99_LIMIT_MS = 500.0
CLIENT_PROCESSES = 2


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def native_body(batch: int) -> bytes:
    entries = [{"source": "bench", "detail-type": "Tick", "detail": {"n": i, "total": 10 * i}} for i in range(batch)]
    return json.dumps({"entries": entries}).encode()


async def _native_clients(url: str, auth: str, batch: int, concurrency: int, seconds: float) -> tuple[list, int]:
    body = native_body(batch)
    headers = {"Authorization": auth, "Content-Type": "application/json"}
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    ok = response.status == 200
            except aiohttp.ClientError:
                ok = False
            if ok:
                latencies.append(time.perf_counter() - started)
            else:
                errors += 1

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
    return latencies, errors


def _boto3_clients(url: str, key: tuple[str, str], batch: int, concurrency: int, seconds: float) -> tuple[list, int]:
    import boto3
    from botocore.config import Config

    entries = [{"Source": "bench", "DetailType": "Tick", "Detail": json.dumps({"n": i})} for i in range(batch)]
    latencies: list[float] = []
    errors = [0]
    # Clients are built before the clock starts: building one takes longer than a request.
    clients = [
        boto3.session.Session().client(
            "events",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id=key[0],
            aws_secret_access_key=key[1],
            config=Config(retries={"max_attempts": 1}, max_pool_connections=4),
        )
        for _ in range(concurrency)
    ]
    deadline = time.monotonic() + seconds

    def client(events) -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            answer = events.put_events(Entries=entries)
            if answer["FailedEntryCount"]:
                errors[0] += 1
            else:
                latencies.append(time.perf_counter() - started)

    threads = [threading.Thread(target=client, args=(events,)) for events in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors[0]


def _client_process(mode: str, url: str, credentials, batch: int, concurrency: int, seconds: float):
    if mode == "boto3":
        return _boto3_clients(url, credentials, batch, concurrency, seconds)
    return asyncio.run(_native_clients(f"{url}/api/v1/events", credentials, batch, concurrency, seconds))


def run_level(
    pool: ProcessPoolExecutor, mode: str, url: str, credentials, batch: int, concurrency: int, seconds: float
):
    shares = [concurrency // CLIENT_PROCESSES + (i < concurrency % CLIENT_PROCESSES) for i in range(CLIENT_PROCESSES)]
    started = time.perf_counter()
    futures = [pool.submit(_client_process, mode, url, credentials, batch, share, seconds) for share in shares if share]
    latencies, errors = [], 0
    for future in futures:
        got, failed = future.result()
        latencies += got
        errors += failed
    elapsed = time.perf_counter() - started
    return {
        "concurrency": concurrency,
        "events_per_s": len(latencies) * batch / elapsed,
        "requests_per_s": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p95_ms": percentile(latencies, 0.95) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "errors": errors,
    }


def knee(levels: list[dict]) -> dict | None:
    """The best throughput among levels that kept p99 within the limit."""
    within = [level for level in levels if level["p99_ms"] <= P99_LIMIT_MS and not level["errors"]]
    return max(within, key=lambda level: level["events_per_s"]) if within else None


def issue_key(env: dict) -> dict:
    answer = subprocess.run(
        [sys.executable, "manage.py", "create_api_key", "--name", "bench", "--scopes", "publish", "--json"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(answer.stdout)


def measure(
    batch: int,
    levels: list[int],
    seconds: float,
    mode: str = "native",
    servers: int = 1,
    profile_seconds: float = 0.0,
    database_url: str | None = None,
    knobs: dict | None = None,
) -> dict:
    """One series on a fresh stack; returns {"levels": [...], "knee": {...}, "profile": {...}}."""
    from bench.profiling import profile_process

    with run_directory("eh-bench-publish-") as directory:
        redis = PrivateRedis(directory / "redis").start()
        try:
            base = database_url if database_url is not None else os.environ.get("DATABASE_URL")
            with scratch_database(base, directory) as scratch_url:
                env = base_env(scratch_url, redis.url, **(knobs or {}))
                create_schema(env)
                key = issue_key(env)
                credentials = (
                    (key["access_key_id"], key["secret_access_key"])
                    if mode == "boto3"
                    else f"Bearer {key['access_key_id']}:{key['secret_access_key']}"
                )
                stack = Stack(env, directory)
                results: list[dict] = []
                profile = {}
                try:
                    url = stack.start_servers(servers)
                    with ProcessPoolExecutor(CLIENT_PROCESSES) as pool:
                        run_level(pool, mode, url, credentials, batch, 4, 1.0)  # warm-up: imports, pools, caches
                        for level in levels:
                            result = run_level(pool, mode, url, credentials, batch, level, seconds)
                            results.append(result)
                            print(
                                f"{mode:>6} batch {batch:>2} servers {servers} concurrency {level:>3}: "
                                f"{result['events_per_s']:>8.0f} events/s  p50 {result['p50_ms']:6.1f} ms  "
                                f"p99 {result['p99_ms']:6.1f} ms  errors {result['errors']}",
                                flush=True,
                            )
                            if result["p99_ms"] > P99_LIMIT_MS:
                                break
                        best = knee(results)
                        if profile_seconds and best:
                            load = pool.submit(
                                _client_process, mode, url, credentials, batch, best["concurrency"], profile_seconds
                            )
                            profile = profile_process(stack.servers[0].pid, profile_seconds)
                            load.result()
                finally:
                    stack.close()
        finally:
            redis.stop()
    return {
        "mode": mode,
        "batch": batch,
        "servers": servers,
        "levels": results,
        "knee": knee(results),
        "profile": profile,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--client", choices=("native", "boto3"), default="native")
    parser.add_argument("--servers", type=int, default=1, help="Daphne processes sharing the listening socket")
    parser.add_argument("--concurrency", default="1,4,16,32,64")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--profile", type=float, default=0.0, help="py-spy seconds at the knee (0: none)")
    parser.add_argument("--knob", action="append", default=[], help="EVENTHUB_NAME=value for the server, repeatable")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    series = measure(
        args.batch,
        [int(c) for c in args.concurrency.split(",")],
        args.seconds,
        args.client,
        args.servers,
        args.profile,
        knobs=dict(knob.split("=", 1) for knob in args.knob),
    )
    best = series["knee"]
    if best:
        print(
            f"knee: {best['events_per_s']:.0f} events/s at concurrency {best['concurrency']} "
            f"(p99 {best['p99_ms']:.0f} ms)"
        )
    else:
        print("no level kept p99 within 500 ms")
    if args.json:
        args.json.write_text(json.dumps(series, indent=1))


if __name__ == "__main__":
    main()
