"""Publish throughput of POST /api/v1/events against a real Daphne, on the configured database.

    python bench/publish.py [--batch 10] [--concurrency 1,4,16,32,64] [--seconds 5]

Starts Daphne on a free port against DATABASE_URL (default: a throwaway SQLite file), creates an API
key, and for each concurrency level sends batches for a fixed time; prints events/s and latency
percentiles. Stops at the knee: the first level whose p99 exceeds 500 ms.
"""

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(env: dict, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


def start_server(env: dict, port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "eventhub.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return server
        time.sleep(0.1)
    server.kill()
    raise SystemExit("daphne did not start")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def run_level(url: str, auth: str, batch: int, concurrency: int, seconds: float) -> dict:
    body = json.dumps(
        {"entries": [{"source": "bench", "detail-type": "Tick", "detail": {"n": i, "total": 10 * i}} for i in range(batch)]}
    )
    headers = {"Authorization": auth, "Content-Type": "application/json"}
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        while time.monotonic() < deadline:
            started = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    errors += 1
                    continue
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "concurrency": concurrency,
        "events_per_s": len(latencies) * batch / elapsed,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "errors": errors,
    }


def measure(batch: int, levels: list[int], seconds: float) -> list[dict]:
    env = dict(os.environ, DEBUG="1")
    scratch = None
    if "DATABASE_URL" not in env:
        scratch = tempfile.mkdtemp(prefix="eventhub-bench-")
        env["DATABASE_URL"] = f"sqlite:///{scratch}/bench.sqlite3"
    manage(env, "migrate", "--noinput")
    keys = json.loads(manage(env, "create_api_key", "--name", "bench", "--scopes", "publish", "--json"))
    auth = f"Bearer {keys['access_key_id']}:{keys['secret_access_key']}"
    port = free_port()
    server = start_server(env, port)
    results = []
    try:
        for level in levels:
            result = asyncio.run(run_level(f"http://127.0.0.1:{port}/api/v1/events", auth, batch, level, seconds))
            results.append(result)
            print(
                f"batch {batch:>2}  concurrency {level:>3}: {result['events_per_s']:>8.0f} events/s  "
                f"p50 {result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:6.1f} ms  errors {result['errors']}",
                flush=True,
            )
            if result["p99_ms"] > 500:
                break
    finally:
        server.terminate()
        server.wait()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--concurrency", default="1,4,16,32,64")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    results = measure(args.batch, [int(c) for c in args.concurrency.split(",")], args.seconds)
    best = max(results, key=lambda r: r["events_per_s"])
    print(f"best: {best['events_per_s']:.0f} events/s at concurrency {best['concurrency']}")
    print("p50 of p50s:", statistics.median(r["p50_ms"] for r in results))


if __name__ == "__main__":
    main()
