"""The webhook HTTP client (dashboard/delivery/http.py), specified against real servers on 127.0.0.1.

Each test starts an asyncio server that plays one kind of webhook target, byte for byte, and records
what it received, so every assertion is about what went over the wire.
"""

import asyncio
import contextlib
import datetime
import ipaddress
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from dashboard.delivery.destinations import AllowList, DestinationRefused
from dashboard.delivery.http import (
    DRAIN_BYTES,
    USER_AGENT,
    HttpClient,
    InvalidURL,
    ProtocolError,
    Response,
    _parse_url,
)
from tests.conftest import free_port

LOOPBACK = AllowList(["127.0.0.0/8"])
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@dataclass
class Request:
    line: str
    headers: dict[str, str]
    body: bytes
    connection: int


@dataclass
class Server:
    """What the server saw: one entry per accepted connection, every request with its connection's number."""

    port: int
    scheme: str = "http"
    connections: list[asyncio.StreamReader] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)

    def url(self, path: str = "/hook") -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"


Handler = Callable[[Server, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request(server: Server, reader: asyncio.StreamReader) -> Request | None:
    """The next request on a connection (recorded in `server.requests`), or None when the client closed it."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
    headers = dict(header.split(": ", 1) for header in header_lines)
    body = await reader.readexactly(int(headers.get("Content-Length", "0")))
    request = Request(line, headers, body, server.connections.index(reader))
    server.requests.append(request)
    return request


def answering(answer: bytes) -> Handler:
    """A keep-alive server that sends every request the same answer."""

    async def handle(server, reader, writer):
        while await read_request(server, reader) is not None:
            writer.write(answer)
            await writer.drain()

    return handle


async def closed_by_client(reader: asyncio.StreamReader) -> bool:
    """Wait until the client closes the connection; True if it did (False if it sent more bytes)."""
    with contextlib.suppress(ConnectionError):
        return await reader.read() == b""
    return True


@contextlib.asynccontextmanager
async def serving(handle: Handler, tls: ssl.SSLContext | None = None):
    handlers: set[asyncio.Task] = set()

    async def on_connection(reader, writer):
        server.connections.append(reader)
        handlers.add(asyncio.current_task())
        try:
            await handle(server, reader, writer)
        except ConnectionError:
            pass
        finally:
            writer.close()

    listener = await asyncio.start_server(on_connection, "127.0.0.1", 0, ssl=tls)
    server = Server(listener.sockets[0].getsockname()[1], "https" if tls else "http")
    try:
        yield server
    finally:
        listener.close()
        # The client is closed by now, so every handler ends; one that does not is stuck, and is cancelled.
        if handlers:
            _, stuck = await asyncio.wait(handlers, timeout=5)
            for task in stuck:
                task.cancel()
        await listener.wait_closed()


@contextlib.asynccontextmanager
async def client(allow: AllowList = LOOPBACK, excerpt_bytes: int = 1024):
    http = HttpClient(allow, excerpt_bytes=excerpt_bytes)
    try:
        yield http
    finally:
        await http.close()


async def post(http: HttpClient, url: str, body: bytes = b"{}", timeout: float = 5.0) -> Response:
    return await http.request("POST", url, {}, body, timeout)


# What is sent


async def test_post_arrives_with_host_user_agent_content_length_headers_and_body():
    async with serving(answering(OK)) as server, client() as http:
        await http.request(
            "POST", server.url("/hooks/in?x=1"), {"Content-Type": "application/json", "X-Tenant": "a"}, b'{"n":1}', 5
        )
    [request] = server.requests
    assert request.line == "POST /hooks/in?x=1 HTTP/1.1"
    assert request.headers == {
        "Host": f"127.0.0.1:{server.port}",
        "User-Agent": USER_AGENT,
        "Content-Type": "application/json",
        "X-Tenant": "a",
        "Content-Length": "7",
    }
    assert request.body == b'{"n":1}'


@pytest.mark.parametrize(
    "headers", [{"X-A": "v\r\nInjected: 1"}, {"X-A": "v\nInjected: 1"}, {"X-A\r\nInjected": "1"}, {"X-A\rB": "1"}]
)
async def test_a_line_break_in_a_header_raises_value_error_and_nothing_is_sent(headers):
    async with serving(answering(OK)) as server, client() as http:
        with pytest.raises(ValueError, match="line break"):
            await http.request("POST", server.url(), headers, b"{}", 5)
    assert server.connections == []


# Keep-alive and the pool


async def test_sequential_requests_share_one_kept_alive_connection():
    async with serving(answering(OK)) as server, client() as http:
        for _ in range(3):
            assert (await post(http, server.url())).status == 200
    assert [request.connection for request in server.requests] == [0, 0, 0]


async def test_a_request_on_an_idle_connection_the_server_closed_is_retried_on_a_fresh_one():
    async def close_on_second_request(server, reader, writer):
        await read_request(server, reader)
        writer.write(OK)
        await writer.drain()
        if server.connections.index(reader) == 0:
            await read_request(server, reader)  # arrives just as the server drops the idle connection
            return
        while await read_request(server, reader) is not None:
            writer.write(OK)
            await writer.drain()

    async with serving(close_on_second_request) as server, client() as http:
        await post(http, server.url(), b"first")
        response = await post(http, server.url(), b"second")
    assert response.status == 200
    assert [(request.body, request.connection) for request in server.requests] == [
        (b"first", 0),
        (b"second", 0),
        (b"second", 1),
    ]


async def test_an_idle_connection_closed_by_the_server_is_not_reused():
    async def answer_once_then_close(server, reader, writer):
        await read_request(server, reader)
        writer.write(OK)

    async with serving(answer_once_then_close) as server, client() as http:
        await post(http, server.url())
        assert (await post(http, server.url())).status == 200
    assert [request.connection for request in server.requests] == [0, 1]


async def test_a_request_whose_answer_was_partly_received_is_not_retried():
    async def cut_second_answer(server, reader, writer):
        await read_request(server, reader)
        writer.write(OK)
        await read_request(server, reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        await writer.drain()

    async with serving(cut_second_answer) as server, client() as http:
        await post(http, server.url())
        with pytest.raises(ProtocolError, match="closed before the whole answer"):
            await post(http, server.url())
    assert len(server.requests) == 2
    assert len(server.connections) == 1


async def test_an_answer_saying_connection_close_is_not_reused():
    answer = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
    async with serving(answering(answer)) as server, client() as http:
        await post(http, server.url())
        await post(http, server.url())
    assert [request.connection for request in server.requests] == [0, 1]


async def test_an_answer_to_http_1_0_closes_the_connection():
    async with serving(answering(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")) as server, client() as http:
        await post(http, server.url())
        await post(http, server.url())
    assert [request.connection for request in server.requests] == [0, 1]


# Reading answers


async def test_a_chunked_answer_is_read_whole_and_keeps_the_connection():
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    async with serving(answering(chunked)) as server, client() as http:
        first = await post(http, server.url())
        await post(http, server.url())
    assert first.excerpt == b"hello world"
    assert [request.connection for request in server.requests] == [0, 0]


async def test_an_answer_without_length_ends_when_the_server_closes():
    async def answer_until_close(server, reader, writer):
        await read_request(server, reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of ")
        await writer.drain()
        writer.write(b"this")

    async with serving(answer_until_close) as server, client() as http:
        response = await post(http, server.url())
    assert (response.status, response.excerpt) == (200, b"all of this")


async def test_retry_after_is_returned_with_the_status():
    answer = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 120\r\nContent-Length: 4\r\n\r\nbusy"
    async with serving(answering(answer)) as server, client() as http:
        response = await post(http, server.url())
    assert (response.status, response.retry_after, response.excerpt) == (503, "120", b"busy")


async def test_a_redirect_is_returned_as_is_and_not_followed():
    redirect = b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/elsewhere\r\nContent-Length: 0\r\n\r\n"
    async with serving(answering(redirect)) as server, client() as http:
        response = await post(http, server.url())
    assert response.status == 302
    assert len(server.requests) == 1


async def test_an_interim_answer_is_skipped_for_the_final_one():
    interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
    final = b"HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\nmade"
    async with serving(answering(interim + final)) as server, client() as http:
        first = await post(http, server.url())
        await post(http, server.url())
    assert (first.status, first.excerpt) == (201, b"made")
    assert [request.connection for request in server.requests] == [0, 0]


async def test_a_no_content_answer_is_complete_without_a_body():
    async with serving(answering(b"HTTP/1.1 204 No Content\r\n\r\n")) as server, client() as http:
        first = await post(http, server.url(), timeout=2)
        await post(http, server.url(), timeout=2)
    assert (first.status, first.excerpt) == (204, b"")
    assert [request.connection for request in server.requests] == [0, 0]


async def test_the_excerpt_is_cut_at_excerpt_bytes_and_the_rest_is_drained_to_keep_the_connection():
    body = bytes(range(100))
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + body
    async with serving(answering(answer)) as server, client(excerpt_bytes=16) as http:
        first = await post(http, server.url())
        await post(http, server.url())
    assert first.excerpt == body[:16]
    assert [request.connection for request in server.requests] == [0, 0]


async def test_a_huge_answer_closes_the_connection_instead_of_being_read_whole():
    closed = asyncio.get_running_loop().create_future()

    async def send_more_than_the_drain(server, reader, writer):
        if server.connections.index(reader) > 0:
            await answering(OK)(server, reader, writer)
            return
        await read_request(server, reader)
        # Announces a gigabyte, sends a little more than the client reads, then stalls: a client that
        # read it whole would wait for the rest until its deadline.
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n" + b"x" * (16 + DRAIN_BYTES + 4096))
        await writer.drain()
        closed.set_result(await closed_by_client(reader))

    async with serving(send_more_than_the_drain) as server, client(excerpt_bytes=16) as http:
        began = time.monotonic()
        response = await post(http, server.url(), timeout=10)
        assert time.monotonic() - began < 5
        assert await closed, "the client sent bytes instead of closing"
        await post(http, server.url())
    assert (response.status, response.excerpt) == (200, b"x" * 16)
    assert [request.connection for request in server.requests] == [0, 1]


async def test_an_endless_header_raises_protocol_error_instead_of_being_buffered():
    async def send_an_endless_header(server, reader, writer):
        await read_request(server, reader)
        writer.write(b"HTTP/1.1 200 OK\r\nX-Endless: ")
        while True:
            writer.write(b"a" * 65536)
            await writer.drain()

    async with serving(send_an_endless_header) as server, client() as http:
        with pytest.raises(ProtocolError, match="head"):
            await post(http, server.url(), timeout=10)


async def test_a_non_http_answer_raises_protocol_error():
    async with serving(answering(b"SSH-2.0-OpenSSH_9.6\r\n")) as server, client() as http:
        with pytest.raises(ProtocolError, match="not an HTTP/1.1 answer"):
            await post(http, server.url())


# Deadlines and failures


async def test_a_timeout_raises_within_the_deadline_and_the_connection_is_dropped():
    dropped = asyncio.get_running_loop().create_future()

    async def never_answer_the_first(server, reader, writer):
        if server.connections.index(reader) == 0:
            await read_request(server, reader)
            dropped.set_result(await closed_by_client(reader))
        else:
            await answering(OK)(server, reader, writer)

    async with serving(never_answer_the_first) as server, client() as http:
        began = time.monotonic()
        with pytest.raises(TimeoutError):
            await post(http, server.url(), timeout=0.3)
        elapsed = time.monotonic() - began
        assert await dropped
        assert (await post(http, server.url())).status == 200
    assert 0.3 <= elapsed < 0.8
    assert [request.connection for request in server.requests] == [0, 1]


async def test_connection_refused_raises_os_error_saying_cannot_connect():
    async with client() as http:
        with pytest.raises(OSError, match="cannot connect"):
            await post(http, f"http://127.0.0.1:{free_port()}/hook")


async def test_a_loopback_address_is_refused_without_connecting_unless_allowed():
    async with serving(answering(OK)) as server, client(allow=AllowList([])) as http:
        with pytest.raises(DestinationRefused, match="loopback"):
            await post(http, server.url(), b"refused")
        async with client(allow=LOOPBACK) as allowed:
            await post(allowed, server.url(), b"allowed")
    # What the allowing client sent is the first and only thing the server saw.
    assert [(request.body, request.connection) for request in server.requests] == [(b"allowed", 0)]
    assert len(server.connections) == 1


# TLS


@dataclass
class Certificates:
    ca_file: str
    server: ssl.SSLContext


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> Certificates:
    """A private CA and a server certificate it signed for 127.0.0.1."""
    now = datetime.datetime.now(datetime.UTC)

    def certificate(subject: str, key, issuer: str, issuer_key, *, ca: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            ip = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
            builder = builder.add_extension(x509.SubjectAlternativeName([ip]), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = certificate("EventHub test CA", ca_key, "EventHub test CA", ca_key, ca=True)
    leaf = certificate("127.0.0.1", server_key, "EventHub test CA", ca_key, ca=False)
    directory = tmp_path_factory.mktemp("tls")
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / "server.pem").write_bytes(
        leaf.public_bytes(serialization.Encoding.PEM)
        + server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(directory / "server.pem")
    return Certificates(str(directory / "ca.pem"), server)


async def test_https_reaches_a_target_whose_certificate_is_trusted(certificates, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", certificates.ca_file)
    async with serving(answering(OK), tls=certificates.server) as server, client() as http:
        response = await post(http, server.url())
    assert (response.status, response.excerpt) == (200, b"ok")
    assert server.requests[0].headers["Host"] == f"127.0.0.1:{server.port}"


async def test_https_refuses_a_certificate_from_an_unknown_authority(certificates):
    async with serving(answering(OK), tls=certificates.server) as server, client() as http:
        with pytest.raises(OSError, match="cannot connect.*CERTIFICATE_VERIFY_FAILED"):
            await post(http, server.url())
    assert server.requests == []


# URLs


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "http:///no-host",
        "http://user:secret@example.com/hook",
        "http://user@example.com/hook",
        "http://2130706433/hook",
        "http://0x7f.1/hook",
        "http://0x7f000001/hook",
        "http://017700000001/hook",
        "http://0177.0.0.1/hook",
        "http://127.1/hook",
        "http://127.0.0.1:99999/hook",
    ],
)
async def test_urls_that_cannot_be_sent_to_raise_invalid_url(url):
    async with client() as http:
        with pytest.raises(InvalidURL):
            await post(http, url)


@pytest.mark.parametrize(
    ("url", "host", "port", "target"),
    [
        ("http://127.0.0.1/hook", "127.0.0.1", 80, "/hook"),
        ("https://203.0.114.7:8443", "203.0.114.7", 8443, "/"),
        ("http://example.com/hooks?a=1&b=2#fragment", "example.com", 80, "/hooks?a=1&b=2"),
        ("https://Hooks.Example.COM/in", "hooks.example.com", 443, "/in"),
        ("http://api.cafe/hook", "api.cafe", 80, "/hook"),
        ("http://[2001:db8::1]:8080/hook", "2001:db8::1", 8080, "/hook"),
    ],
)
def test_dotted_quads_host_names_and_ipv6_literals_parse(url, host, port, target):
    destination, parsed_target = _parse_url(url)
    assert (destination.host, destination.port, parsed_target) == (host, port, target)
