"""Which async HTTP client should the dispatch worker use? Client CPU per webhook POST, measured.

    python bench/http_clients.py [--requests 20000] [--concurrency 64] [--rounds 5] [--clients a,b]

A local receiver runs in its own process (a minimal HTTP/1.1 server on asyncio protocols: it loads the
cores less than aiohttp's server would, so more of them is left to the client under test). Each client
then runs in a fresh process, one after another and in a rotating order over `--rounds` rounds (the
machine is shared: alternating spreads its noise over every client), and sends `--requests` POSTs of
a ~1 KB event with Standard-Webhooks-like headers over keep-alive connections, `--concurrency` in
flight. Measured after a warm-up that opens the connections: client CPU per request
(`time.process_time`, every thread of the process, so a Rust client's runtime threads count too),
requests/s, and the receiver's CPU per request (from /proc). The table printed gives medians.

Clients: the worker's own (`dashboard/delivery/http.py`); aiohttp as the worker used it before;
aiohttp tuned (no cookie jar, no auto headers, one session-wide timeout, `session.post`);
the same without a timer per request;
httpx and httpcore (the layer under httpx); aiosonic; pyreqwest (Rust: reqwest on tokio); and a raw
asyncio-protocol client (HTTP/1.1 with Content-Length only): the floor of what a Python client on
asyncio could cost. httpx, aiosonic and pyreqwest are not in requirements-dev.txt (none won clearly, see
docs/benchmarks/http-clients.md): a client whose package is missing is skipped, and named.
"""

import argparse
import asyncio
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")
USER_AGENT = "EventHub-Webhooks/1"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


def event_body() -> bytes:
    """A typical event envelope as a target receives it, about 1 KB of JSON."""
    detail = {
        "orderId": "ord_2f9c1a7e4b",
        "customer": {"id": "cus_81c2", "email": "someone@example.com", "tier": "gold", "country": "DE"},
        "items": [{"sku": f"SKU-{n:04d}", "quantity": n % 3 + 1, "price": {"amount": 1999 + n, "currency": "EUR"}}
                  for n in range(6)],
        "total": {"amount": 15_994, "currency": "EUR"},
        "shipping": {"method": "express", "address": {"city": "Berlin", "postcode": "10115", "line1": "Street 1"}},
        "note": "leave at the door",
    }  # fmt: skip
    envelope = {
        "version": "0",
        "id": "0b4f1d2e-58a3-4c1e-9a7b-3c5d2e1f0a9b",
        "detail-type": "OrderPlaced",
        "source": "shop.orders",
        "account": "000000000000",
        "time": "2026-12-06T21:00:00Z",
        "region": "local-1",
        "resources": [],
        "detail": detail,
    }
    return json.dumps(envelope, separators=(",", ":")).encode()


def headers_for(number: int) -> dict[str, str]:
    """What a delivery sends besides the body: content type and the three Standard Webhooks headers."""
    return {
        "Content-Type": "application/json",
        "webhook-id": f"msg_{number:012d}",
        "webhook-timestamp": "1796590800",
        "webhook-signature": "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
    }


def _content_length(head: bytes) -> int:
    """The Content-Length of a message's header block, 0 without one."""
    lowered = head.lower()
    at = lowered.find(b"content-length:")
    if at < 0:
        return 0
    end = lowered.find(b"\r\n", at)
    return int(lowered[at + 15 : end if end > 0 else None])


# -- the receiver ----------------------------------------------------------------------------------------


class _Receiving(asyncio.Protocol):
    """Answers 200 "ok" to every request; understands keep-alive and Content-Length bodies only."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            length = _content_length(self.buffer[:end])
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.transport.write(RESPONSE)


def serve() -> None:
    async def run() -> None:
        server = await asyncio.get_running_loop().create_server(_Receiving, "127.0.0.1", 0, backlog=1024)
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()

    asyncio.run(run())


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


# -- the clients: each returns (send one request numbered n, close) ----------------------------------------

Send = Callable[[int], Awaitable[None]]


async def aiohttp_as_before(url: str, body: bytes, concurrency: int) -> tuple[Send, Callable]:
    import aiohttp

    from dashboard.delivery.destinations import AllowList, GuardedConnector

    connector = GuardedConnector(allow=AllowList(["127.0.0.0/8"]), limit=concurrency, ttl_dns_cache=10)
    session = aiohttp.ClientSession(
        connector=connector, headers={"User-Agent": USER_AGENT}, auto_decompress=False, trust_env=False
    )
    timeout = aiohttp.ClientTimeout(total=10)  # webhook.py caches one per timeout value

    async def send(number: int) -> None:
        async with session.request(
            "POST", url, data=body, headers=headers_for(number), allow_redirects=False, timeout=timeout
        ) as response:
            await response.content.read(1024)
            assert response.status == 200

    return send, session.close


async def _aiohttp_tuned(url: str, body: bytes, concurrency: int, timeout: float | None) -> tuple[Send, Callable]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency, ttl_dns_cache=10)
    session = aiohttp.ClientSession(
        connector=connector,
        headers={"User-Agent": USER_AGENT},
        skip_auto_headers=("Accept", "Accept-Encoding"),
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
        trust_env=False,
        read_bufsize=4096,
        timeout=aiohttp.ClientTimeout(total=timeout),
    )

    async def send(number: int) -> None:
        async with session.post(url, data=body, headers=headers_for(number), allow_redirects=False) as response:
            await response.content.read(1024)
            assert response.status == 200

    return send, session.close


async def aiohttp_tuned(url: str, body: bytes, concurrency: int) -> tuple[Send, Callable]:
    return await _aiohttp_tuned(url, body, concurrency, 10.0)


async def aiohttp_tuned_no_timer(url: str, body: bytes, concurrency: int) -> tuple[Send, Callable]:
    """What a timer per request costs: the worker could bound a whole batch with one deadline instead."""
    return await _aiohttp_tuned(url, body, concurrency, None)


async def httpx_http1(url: str, body: bytes, concurrency: int) -> tuple[Send, Callable]:
    import httpx

    client = httpx.AsyncClient(
        http1=True,
        http2=False,
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        timeout=10.0,
        trust_env=False,
        headers={"User-Agent": USER_AGENT},
    )

    async def send(number: int) -> None:
        response = await client.post(url, content=body, headers=headers_for(number))
        assert response.status_code == 200

    return send, client.aclose


async def httpcore_pool(url: str, body: bytes, concurrency: int) -> tuple[Send, Callable]:
    import httpcore

    pool = httpcore.AsyncConnectionPool(max_connections=concurrency, max_keepalive_connections=concurrency)
    extensions = {"timeout": {"connect": 10.0, "read": 10.0, "write": 10.0, "pool": 10.0}}

    async def send(number: int) -> None:
        headers = [(b"User-Agent", USER_AGENT.encode())]
        headers += [(name.encode(), value.encode()) for name, value in headers_for(number).items()]
        response = await pool.request("POST", url, headers=headers, content=body, extensions=extensions)
        assert response.status == 200

    return send, pool.aclose


async def aiosonic_client(url: str, body: bytes, concurrency: int) -> tuple[Send, Callable]:
    import aiosonic
    from aiosonic.connectors import TCPConnector
    from aiosonic.pools import PoolConfig
    from aiosonic.timeout import Timeouts

    connector = TCPConnector(pool_configs={":default": PoolConfig(size=concurrency, max_conn_requests=None)})
    client = aiosonic.HTTPClient(connector=connector, handle_cookies=False)
    timeouts = Timeouts(request_timeout=10)

    async def send(number: int) -> None:
        response = await client.post(
            url, data=body, headers={"User-Agent": USER_AGENT, **headers_for(number)}, timeouts=timeouts, follow=False
        )
        await response.content()
        assert response.status_code == 200

    return send, client.aclose


async def pyreqwest_client(url: str, body: bytes, concurrency: int) -> tuple[Send, Callable]:
    from datetime import timedelta

    from pyreqwest.client import ClientBuilder

    client = (
        ClientBuilder()
        .max_connections(concurrency)
        .pool_max_idle_per_host(concurrency)
        .timeout(timedelta(seconds=10))
        .user_agent(USER_AGENT)
        .follow_redirects(False)
        .build()
    )

    async def send(number: int) -> None:
        response = await client.post(url).headers(headers_for(number)).body_bytes(body).build().send()
        await response.bytes()
        assert response.status == 200

    return send, client.close


class _Exchange(asyncio.Protocol):
    """One keep-alive connection: write a request, resolve a future when the whole response is in."""

    def __init__(self) -> None:
        self.buffer = b""
        self.waiter: asyncio.Future | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        length = _content_length(self.buffer[:end])
        if len(self.buffer) >= end + 4 + length:
            status = int(self.buffer[9:12])
            self.buffer = self.buffer[end + 4 + length :]
            self.waiter.set_result(status)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionError("closed"))


async def raw_protocol(url: str, body: bytes, concurrency: int) -> tuple[Send, Callable]:
    from urllib.parse import urlsplit

    loop = asyncio.get_running_loop()
    parts = urlsplit(url)
    start = f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\nUser-Agent: {USER_AGENT}\r\n"
    start += f"Content-Length: {len(body)}\r\n"
    idle: list[_Exchange] = []

    async def send(number: int) -> None:
        if idle:
            exchange = idle.pop()
        else:
            # A pre-checked address goes here: the connection is opened to exactly what was resolved.
            _, exchange = await loop.create_connection(_Exchange, parts.hostname, parts.port)
        exchange.waiter = loop.create_future()
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers_for(number).items())
        exchange.transport.write((start + lines + "\r\n").encode() + body)
        status = await exchange.waiter
        idle.append(exchange)
        assert status == 200

    async def close() -> None:
        for exchange in idle:
            exchange.transport.close()

    return send, close


async def eventhub_client(url: str, body: bytes, concurrency: int) -> tuple[Send, Callable]:
    from dashboard.delivery.destinations import AllowList
    from dashboard.delivery.http import HttpClient

    client = HttpClient(AllowList(["127.0.0.0/8"]), excerpt_bytes=1024)

    async def send(number: int) -> None:
        response = await client.request("POST", url, headers_for(number), body, 10.0)
        assert response.status == 200

    return send, client.close


CLIENTS = {
    "eventhub": eventhub_client,
    "aiohttp-as-before": aiohttp_as_before,
    "aiohttp-tuned": aiohttp_tuned,
    "aiohttp-tuned-no-timer": aiohttp_tuned_no_timer,
    "httpx": httpx_http1,
    "httpcore": httpcore_pool,
    "aiosonic": aiosonic_client,
    "pyreqwest": pyreqwest_client,
    "raw-protocol": raw_protocol,
}

# Bench-only packages, not in requirements-dev.txt (none won clearly): a client is skipped without its package.
PACKAGES = {"httpx": "httpx", "httpcore": "httpcore", "aiosonic": "aiosonic", "pyreqwest": "pyreqwest"}


def run_client(name: str, url: str, requests: int, concurrency: int) -> dict:
    """In this process: warm up, then time `requests` POSTs with `concurrency` in flight."""
    body = event_body()

    async def run() -> dict:
        send, close = await CLIENTS[name](url, body, concurrency)
        counter = iter(range(10**9))

        async def loop(count: int) -> None:
            for _ in range(count):
                await send(next(counter))

        await asyncio.gather(*(loop(4) for _ in range(concurrency)))  # opens every connection
        per_task = requests // concurrency
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(loop(per_task) for _ in range(concurrency)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        await close()
        done = per_task * concurrency
        return {"client": name, "requests": done, "cpu_us": cpu / done * 1e6, "per_s": done / wall}

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", default=",".join(CLIENTS))
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve()
    if args.client:
        print(json.dumps(run_client(args.client, args.url, args.requests, args.concurrency)), flush=True)
        os._exit(0)  # pyreqwest 0.15.1 aborts in interpreter finalization (PyGILState_Release)

    asked = args.clients.split(",")
    if unknown := [name for name in asked if name not in CLIENTS]:
        parser.error(f"unknown client(s) {', '.join(unknown)}; known: {', '.join(CLIENTS)}")
    names = [name for name in asked if name not in PACKAGES or importlib.util.find_spec(PACKAGES[name])]
    if skipped := [name for name in asked if name not in names]:
        print(f"skipped, package not installed: {', '.join(skipped)}", file=sys.stderr)
    receiver = subprocess.Popen([sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{receiver.stdout.readline().strip()}/hook"
    results: dict[str, list[dict]] = {name: [] for name in names}
    load = [os.getloadavg()[0]]
    try:
        for round_number in range(args.rounds):
            shift = round_number % len(names)
            for name in names[shift:] + names[:shift]:
                before = process_cpu_seconds(receiver.pid)
                out = subprocess.run(
                    [sys.executable, __file__, "--client", name, "--url", url, "--requests", str(args.requests),
                     "--concurrency", str(args.concurrency)],
                    cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True, check=True,
                )  # fmt: skip
                row = json.loads(out.stdout.strip().splitlines()[-1])
                # Includes the warm-up's 4 requests per connection: counted in the denominator too.
                row["receiver_us"] = (
                    (process_cpu_seconds(receiver.pid) - before) / (row["requests"] + 4 * args.concurrency) * 1e6
                )
                results[name].append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
            load.append(os.getloadavg()[0])
    finally:
        receiver.terminate()
        receiver.wait()

    print(
        f"{args.requests:,} POSTs of {len(event_body())} bytes, {args.concurrency} in flight, keep-alive; medians of "
        f"{args.rounds} alternating runs; load average (1 min) {min(load):.1f}-{max(load):.1f}"
    )
    print()
    print("| Client | client CPU µs/request | requests/s | receiver CPU µs/request | runs: client CPU µs |")
    print("|---|---:|---:|---:|---|")
    for name in sorted(names, key=lambda n: statistics.median(r["cpu_us"] for r in results[n])):
        rows = results[name]
        print(
            f"| {name} | {statistics.median(r['cpu_us'] for r in rows):.0f} "
            f"| {statistics.median(r['per_s'] for r in rows):,.0f} "
            f"| {statistics.median(r['receiver_us'] for r in rows):.0f} "
            f"| {', '.join(format(r['cpu_us'], '.0f') for r in rows)} |"
        )
    return None


if __name__ == "__main__":
    main()
