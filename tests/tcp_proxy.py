"""A TCP proxy on 127.0.0.1 that a test can stop, start, slow down or turn into a black hole.

It stands between a server process and one of its dependencies (PostgreSQL, Redis, S3), so a test
can take the dependency "down" without touching the real service the machine runs:

    with TcpProxy(5432) as pg:          # listens on pg.port, forwards to 127.0.0.1:5432
        pg.stop()                       # refuse new connections, reset the open ones
        pg.start()                      # back, on the same port
        pg.latency = 2.0                # every forwarded chunk waits 2 s (a slow dependency)
        pg.blackhole = True             # accept, never answer (a hung dependency)

The proxy runs its own event loop in a daemon thread, so synchronous and asynchronous tests can
use it alike. Everything is bounded: closing it cancels every connection it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = HOST, port: int | None = None) -> None:
        self.target = (target_host, target_port)
        self.port = port or free_port()
        self.latency = 0.0
        self.blackhole = False
        self.connections = 0  # accepted since creation, for assertions
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"tcp-proxy-{self.port}",
                                        daemon=True)
        self._thread.start()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    # --- control (any thread) -------------------------------------------------------------------

    def start(self) -> TcpProxy:
        self._call(self._start())
        return self

    def stop(self) -> None:
        """Like the dependency going away: new connections are refused, open ones are reset."""
        self._call(self._stop())

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def running(self) -> bool:
        return self._server is not None

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    # --- the loop's side ------------------------------------------------------------------------

    async def _start(self) -> None:
        if self._server is not None:
            return
        for _ in range(50):  # the port was ours a moment ago; it may linger briefly
            try:
                self._server = await asyncio.start_server(self._accept, HOST, self.port, reuse_address=True)
                return
            except OSError:
                await asyncio.sleep(0.1)
        raise RuntimeError(f"tcp proxy could not listen on {self.port} again")

    async def _stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                sock = writer.get_extra_info("socket")
                if sock is not None:  # RST, not FIN: the peer sees a dead connection at once
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)
        if server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 5)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        self._writers.add(writer)
        upstream_writer: asyncio.StreamWriter | None = None
        try:
            if self.blackhole:
                await reader.read()  # hold the connection, answer nothing, until the peer gives up
                return
            up_reader, upstream_writer = await asyncio.open_connection(*self.target)
            self._writers.add(upstream_writer)
            await asyncio.gather(self._pipe(reader, upstream_writer), self._pipe(up_reader, writer))
        except (OSError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # cancelled by stop(): the connection is meant to die
        finally:
            for w in (writer, upstream_writer):
                if w is not None:
                    self._writers.discard(w)
                    with contextlib.suppress(Exception):
                        w.close()
            self._tasks.discard(task)  # type: ignore[arg-type]

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                if self.blackhole:
                    continue  # swallow: the request vanishes, the peer waits
                if self.latency:
                    await asyncio.sleep(self.latency)
                writer.write(chunk)
                await writer.drain()
        finally:
            with contextlib.suppress(Exception):
                if writer.can_write_eof():
                    writer.write_eof()
