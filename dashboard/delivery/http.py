"""The webhook HTTP client: HTTP/1.1 on asyncio protocols, keep-alive connections pooled per destination.

Why not aiohttp: a delivery is one small POST, and aiohttp's general machinery (request and response
objects, payload wrappers, a timer, a task per connect) cost ~100 µs of CPU per POST where this costs
~30 (`bench/http_clients.py`, docs/benchmarks/http-clients.md); at thousands of deliveries per second the
client was half of the worker's CPU. Responses are parsed by httptools (llhttp, the parser of Node.js);
requests are written by hand, which for a body with a Content-Length is a few lines.

What it does not do, on purpose: follow redirects (a 3xx is the target's answer), decompress, use
proxies or cookies, or read more of an answer than `excerpt_bytes` plus a bounded rest (a larger body
closes the connection instead of being drained). Every connection goes to an address the SSRF guard
(destinations.py) checked after resolving, so a name cannot be re-pointed between check and connect.
"""

import asyncio
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import quote, urlsplit

import httptools

from .destinations import AllowList, permitted_addresses

USER_AGENT = "EventHub-Webhooks/1"
# How long a resolved name and an idle connection are reused.
DNS_TTL_SECONDS = 10.0
IDLE_SECONDS = 15.0
# How often deadlines are checked: one timer for every request in flight, not one each.
DEADLINE_TICK_SECONDS = 0.05
# Beyond the excerpt, how much of an answer's body is read to keep its connection; a larger one is cut.
DRAIN_BYTES = 64 * 1024
# What a path or query keeps as it is: RFC 3986's reserved and unreserved characters, and escapes.
_URL_SAFE = "/?#[]@!$&'()*+,;=-._~%:"
# An answer's status line and headers: httptools buffers a header in memory until it ends.
HEAD_BYTES = 64 * 1024


class InvalidURL(ValueError):
    """The URL cannot be sent to: not http(s), no host, or a host in an ambiguous numeric form."""


class ProtocolError(OSError):
    """The answer was not HTTP/1.1, or the connection closed before a whole answer arrived."""


@dataclass
class Response:
    status: int
    retry_after: str | None
    excerpt: bytes


@dataclass(frozen=True)
class _Destination:
    https: bool
    host: str
    port: int
    host_header: str


@dataclass
class _Answer:
    """What the parser has seen of one answer."""

    excerpt_bytes: int
    status: int = 0
    retry_after: str | None = None
    body: bytearray = field(default_factory=bytearray)
    body_seen: int = 0
    headers_complete: bool = False
    # With neither Content-Length nor chunks, the body ends when the connection does.
    delimited: bool = False
    complete: bool = False


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._waiter: asyncio.Future | None = None
        self._answer: _Answer | None = None
        self._parser = None
        self._bytes_seen = 0
        self.deadline = 0.0

    def connection_made(self, transport) -> None:
        self.transport = transport

    def connection_lost(self, error: Exception | None) -> None:
        self.closed = True
        if self._waiter is not None and not self._waiter.done():
            answer = self._answer
            if answer is not None and answer.headers_complete and not answer.delimited:
                answer.complete = True
                self._waiter.set_result(False)
            else:
                reason = f": {error}" if error else ""
                self._waiter.set_exception(ProtocolError(f"the connection closed before the whole answer{reason}"))

    def data_received(self, data: bytes) -> None:
        if self._parser is None:
            self.close()  # bytes with no request outstanding: the connection is not reusable
            return
        self._bytes_seen += len(data)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._finish(reusable=False)
        except httptools.HttpParserError as error:
            if self._waiter is not None and not self._waiter.done():
                self._waiter.set_exception(ProtocolError(f"not an HTTP/1.1 answer: {error}"))
            self.close()
        else:
            if not self._answer.headers_complete and self._bytes_seen > HEAD_BYTES:
                if self._waiter is not None and not self._waiter.done():
                    self._waiter.set_exception(ProtocolError(f"the answer's head is longer than {HEAD_BYTES} bytes"))
                self.close()

    # httptools callbacks
    def on_status(self, _status: bytes) -> None:
        self._answer.status = self._parser.get_status_code()

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name == b"retry-after":
            self._answer.retry_after = value.decode("latin-1")
        elif name in (b"content-length", b"transfer-encoding"):
            self._answer.delimited = True

    def on_headers_complete(self) -> None:
        answer = self._answer
        answer.headers_complete = True
        answer.status = self._parser.get_status_code()
        if answer.status in (204, 304) or answer.status < 200:
            answer.delimited = True

    def on_body(self, body: bytes) -> None:
        answer = self._answer
        room = answer.excerpt_bytes - len(answer.body)
        if room > 0:
            answer.body += body[:room]
        answer.body_seen += len(body)
        if answer.body_seen > answer.excerpt_bytes + DRAIN_BYTES:
            self._finish(reusable=False)

    def on_message_complete(self) -> None:
        if self._answer.status < 200 and self._answer.status != 101:
            # An interim answer (100 Continue, 103 Early Hints): the final one follows; the parser reads on.
            self._answer = _Answer(self._answer.excerpt_bytes)
            return
        self._finish(reusable=self._parser.should_keep_alive())

    def _finish(self, *, reusable: bool) -> None:
        self._answer.complete = True
        self._parser = None
        if not reusable:
            self.close()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(reusable)

    def expire(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(TimeoutError())
        self.close()

    async def exchange(self, request: bytes, excerpt_bytes: int) -> tuple[_Answer, bool]:
        """Write the request, wait for the whole answer: (answer, whether the connection can be reused).
        A ProtocolError with `bytes_seen == 0` afterwards means the server never answered."""
        self._answer = _Answer(excerpt_bytes)
        self._parser = httptools.HttpResponseParser(self)
        self._bytes_seen = 0
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        try:
            reusable = await self._waiter
        finally:
            self._waiter = None
        return self._answer, reusable

    @property
    def answered_nothing(self) -> bool:
        return self._bytes_seen == 0

    def close(self) -> None:
        self.closed = True
        self._parser = None
        if self.transport is not None:
            self.transport.close()


class HttpClient:
    """Sends requests over pooled connections; one client per worker process."""

    def __init__(self, allow: AllowList, *, excerpt_bytes: int) -> None:
        self._allow = allow
        self._excerpt_bytes = excerpt_bytes
        self._idle: dict[_Destination, list[_Connection]] = {}
        self._resolved: dict[tuple[str, int], tuple[float, list[str]]] = {}
        self._tls: ssl.SSLContext | None = None
        self._in_flight: set[_Connection] = set()
        self._ticking = False

    async def request(self, method: str, url: str, headers: dict[str, str], body: bytes, timeout: float) -> Response:
        """Raises TimeoutError, InvalidURL, DestinationRefused, ValueError (a header with a line break)
        or OSError (cannot connect, connection lost, not HTTP)."""
        destination, target = _parse_url(url)
        request = _request_bytes(method, target, destination, headers, body)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        connection = self._take_idle(destination)
        if connection is not None:
            try:
                return await self._exchange(destination, connection, request, deadline)
            except ProtocolError:
                if not connection.answered_nothing:
                    raise
                # The server closed the idle connection as we wrote on it: the request never arrived.
        async with asyncio.timeout_at(deadline):
            connection = await self._connect(destination)
        return await self._exchange(destination, connection, request, deadline)

    async def _exchange(
        self, destination: _Destination, connection: _Connection, request: bytes, deadline: float
    ) -> Response:
        connection.deadline = deadline
        self._in_flight.add(connection)
        if not self._ticking:
            self._ticking = True
            asyncio.get_running_loop().call_later(DEADLINE_TICK_SECONDS, self._expire_overdue)
        try:
            answer, reusable = await connection.exchange(request, self._excerpt_bytes)
        except BaseException:
            connection.close()  # timed out or failed mid-answer: the connection's state is unknown
            raise
        finally:
            self._in_flight.discard(connection)
        if reusable and not connection.closed:
            connection.idle_since = time.monotonic()
            self._idle.setdefault(destination, []).append(connection)
        return Response(answer.status, answer.retry_after, bytes(answer.body))

    def _expire_overdue(self) -> None:
        """Fail the requests past their deadline; re-armed while any is in flight."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        for connection in [c for c in self._in_flight if c.deadline <= now]:
            connection.expire()
        if self._in_flight:
            loop.call_later(DEADLINE_TICK_SECONDS, self._expire_overdue)
        else:
            self._ticking = False

    def _take_idle(self, destination: _Destination) -> _Connection | None:
        pool = self._idle.get(destination)
        if not pool:
            return None
        fresh_after = time.monotonic() - IDLE_SECONDS
        while pool:
            connection = pool.pop()
            if not connection.closed and connection.idle_since > fresh_after:
                return connection
            connection.close()
        return None

    async def _connect(self, destination: _Destination) -> _Connection:
        addresses = await self._permitted_addresses(destination)
        loop = asyncio.get_running_loop()
        tls = self._tls_context() if destination.https else None
        failure: OSError | None = None
        for address in addresses:
            connection = _Connection()
            try:
                await loop.create_connection(
                    lambda c=connection: c,
                    address,
                    destination.port,
                    ssl=tls,
                    server_hostname=destination.host if tls else None,
                )
                return connection
            except OSError as error:
                failure = error
        raise ConnectionError(f"cannot connect to {destination.host}:{destination.port}: {failure}")

    async def _permitted_addresses(self, destination: _Destination) -> list[str]:
        """The addresses the host resolves to that the guard permits (raises DestinationRefused if none)."""
        host = destination.host
        key = (host, destination.port)
        cached = self._resolved.get(key)
        if cached is not None and cached[0] > time.monotonic():
            addresses = cached[1]
        else:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, destination.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            )
            addresses = list(dict.fromkeys(info[4][0] for info in infos))
            self._resolved[key] = (time.monotonic() + DNS_TTL_SECONDS, addresses)
        return permitted_addresses(host, addresses, self._allow)

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    async def close(self) -> None:
        for pool in self._idle.values():
            for connection in pool:
                connection.close()
        self._idle.clear()


@lru_cache(maxsize=4096)
def _parse_url(url: str) -> tuple[_Destination, str]:
    """The destination and the request target (path and query) of a webhook URL (raises InvalidURL)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise InvalidURL(str(error)) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidURL(f"{url!r} is not an http(s) URL with a host")
    host = parts.hostname
    if parts.username is not None or parts.password is not None:
        raise InvalidURL("credentials in the URL are not sent; use a connection's authorization instead")
    _refuse_ambiguous_numbers(host)
    https = parts.scheme == "https"
    # A space or non-ASCII character would break the request line: percent-encoded, as browsers do.
    target = quote(parts.path or "/", safe=_URL_SAFE)
    if parts.query:
        target += f"?{quote(parts.query, safe=_URL_SAFE)}"
    default_port = 443 if https else 80
    host_header = host if ":" not in host else f"[{host}]"
    if port not in (None, default_port):
        host_header = f"{host_header}:{port}"
    return _Destination(https, host, port or default_port, host_header), target


def _refuse_ambiguous_numbers(host: str) -> None:
    """A host like 2130706433 or 0x7f.1 is an IPv4 address to the resolver; only the dotted-quad form
    is accepted, so what the guard and an operator read is what is reached."""
    if ":" in host:
        return  # IPv6 literal, parsed strictly by ipaddress below
    labels = host.rstrip(".").split(".")
    if labels[-1] and all(c in "0123456789xXabcdefABCDEF" for c in labels[-1]) and labels[-1][0].isdigit():
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise InvalidURL(f"{host!r} is an IPv4 address in an ambiguous form; write it as a.b.c.d") from None


def _request_bytes(method: str, target: str, destination: _Destination, headers: dict[str, str], body: bytes) -> bytes:
    """The request's bytes; ValueError if a header would break its line (header injection)."""
    fields = "".join([f"{name}: {value}\r\n" for name, value in headers.items()])
    if fields.count("\n") != len(headers) or fields.count("\r") != len(headers):
        raise ValueError("a header name or value contains a line break")
    head = f"{method} {target} HTTP/1.1\r\nHost: {destination.host_header}\r\nUser-Agent: {USER_AGENT}\r\n"
    return f"{head}{fields}Content-Length: {len(body)}\r\n\r\n".encode() + body
