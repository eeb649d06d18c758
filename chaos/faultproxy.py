"""A small asyncio TCP fault proxy (Toxiproxy's idea; its server is not packaged in Debian).

    proxy = FaultProxy(upstream_port=6379).start()   # listens on proxy.port, forwards to upstream
    proxy.set_mode("latency", ms=500)                  # or: pass, blackhole, reset, close_after, bandwidth
    proxy.set_mode("pass", reset_every=100)            # additionally reset every 100th new connection

Modes apply to new data on every connection, old and new: `latency` delays each chunk, `bandwidth`
paces to `bytes_per_s`, `blackhole` accepts and reads but forwards nothing (the peer's timeout must
fire), `reset` aborts every connection with a TCP RST, `close_after` closes a connection after
`bytes` forwarded. It runs on its own thread so a scenario can flip modes from synchronous code.
"""

import asyncio
import contextlib
import socket
import struct
import threading
from dataclasses import dataclass, field


@dataclass
class Mode:
    name: str = "pass"
    ms: float = 0.0
    bytes_per_s: float = 0.0
    bytes: int = 0
    reset_every: int = 0
    extra: dict = field(default_factory=dict)


class FaultProxy:
    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1", port: int = 0) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = port
        self.mode = Mode()
        self.connections = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"faultproxy-{upstream_port}", daemon=True)

    def start(self) -> "FaultProxy":
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fault proxy did not start")
        return self

    def set_mode(self, name: str, **options) -> None:
        self.mode = Mode(name=name, **options)
        if name == "reset" and self._loop:
            self._loop.call_soon_threadsafe(self._reset_all)

    def stop(self) -> None:
        if self._loop:
            self._loop.call_soon_threadsafe(self._shutdown)
        self._thread.join(5)

    def _shutdown(self) -> None:
        # Tearing down on purpose: the cancelled connection tasks' complaints are expected, not news.
        self._loop.set_exception_handler(lambda loop, context: None)
        self._reset_all()
        for task in asyncio.all_tasks(self._loop):
            task.cancel()
        self._loop.call_later(0.1, self._loop.stop)

    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", self.port))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            self._loop.close()

    def _reset_all(self) -> None:
        for writer in list(self._writers):
            _abort(writer)

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        mode = self.mode
        if mode.name == "reset" or (mode.reset_every and self.connections % mode.reset_every == 0):
            _abort(client_writer)
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            _abort(client_writer)
            return
        self._writers |= {client_writer, upstream_writer}
        budget = [mode.bytes] if mode.name == "close_after" else [None]
        try:
            await asyncio.gather(
                self._pipe(client_reader, upstream_writer, budget),
                self._pipe(upstream_reader, client_writer, budget),
            )
        finally:
            for writer in (client_writer, upstream_writer):
                self._writers.discard(writer)
                with contextlib.suppress(RuntimeError):  # the loop is closing: the socket goes with it
                    writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, budget: list) -> None:
        try:
            while data := await reader.read(65536):
                mode = self.mode
                if mode.name == "blackhole":
                    continue
                if mode.name == "latency":
                    await asyncio.sleep(mode.ms / 1000)
                elif mode.name == "bandwidth" and mode.bytes_per_s:
                    await asyncio.sleep(len(data) / mode.bytes_per_s)
                if budget[0] is not None:
                    data = data[: budget[0]]
                    budget[0] -= len(data)
                writer.write(data)
                await writer.drain()
                if budget[0] is not None and budget[0] <= 0:
                    break
        except (ConnectionError, OSError):
            pass  # the other side went away: closing both ends below is the whole reaction
        finally:
            _abort(writer) if self.mode.name == "reset" else writer.close()


def _abort(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed: nothing left to reset
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
