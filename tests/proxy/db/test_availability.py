"""Failures surface as DatabaseUnavailable, in bounded time, and the repository recovers."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from config.settings import Settings
from proxy.db import Compilation, DatabaseUnavailable, SceneRepository, create_repository
from proxy.db.sqlite import sqlite_path_from_url

TIMEOUT = 0.5


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _unreachable(backend: str, tmp_path: Path) -> Settings:
    if backend == "postgres":
        url = f"postgresql://postgres@127.0.0.1:{_closed_port()}/postgres"
    else:
        blocker = tmp_path / "not-a-directory"
        blocker.write_text("a file where the database directory should be")
        url = f"sqlite:///{blocker / 'proxy.sqlite3'}"
    return Settings(database_url=url, db_timeout_seconds=TIMEOUT)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_an_unreachable_database_raises_database_unavailable_quickly(
    backend: str, tmp_path: Path
) -> None:
    repo = create_repository(_unreachable(backend, tmp_path))
    calls = [
        repo.migrate(),
        repo.ping(),
        repo.get(uuid.uuid4()),
        repo.create(uuid.uuid4(), "c", None, uuid.uuid4()),
        repo.update_code(uuid.uuid4(), "c"),
        repo.record_compilation(uuid.uuid4(), "c", _ok()),
        repo.list_after(None, 10),
        repo.count(),
        repo.get_flag("f"),
        repo.set_flag("f", 1),
    ]
    try:
        for call in calls:
            started = time.monotonic()
            with pytest.raises(DatabaseUnavailable):
                await call
            assert time.monotonic() - started < 4 * TIMEOUT + 1
    finally:
        await repo.close()


def _ok() -> Compilation:
    return Compilation(hash="0123456789abcdef", url="/u", error=None)


async def test_an_unmigrated_database_is_unavailable_not_a_driver_error(db_settings: Settings) -> None:
    repo = create_repository(db_settings)
    try:
        with pytest.raises(DatabaseUnavailable):
            await repo.get(uuid.uuid4())
        await repo.ping()  # the connection itself is fine
    finally:
        await repo.close()


async def test_a_closed_repository_refuses_calls(repo: SceneRepository) -> None:
    await repo.close()
    with pytest.raises(DatabaseUnavailable):
        await repo.ping()
    await repo.close()  # idempotent


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """A TCP server that accepts connections and never answers (a hung database)."""
    writers: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield port
    for w in writers:
        w.close()
    server.close()
    await server.wait_closed()


async def test_a_hung_postgres_server_times_out_as_unavailable(silent_server: int) -> None:
    url = f"postgresql://postgres@127.0.0.1:{silent_server}/db"
    repo = create_repository(Settings(database_url=url, db_timeout_seconds=TIMEOUT))
    try:
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable):
            await repo.ping()
        assert time.monotonic() - started < 4 * TIMEOUT + 1
    finally:
        await repo.close()


async def test_postgres_reconnects_after_the_server_drops_every_connection(pg_settings: Settings) -> None:
    repo = create_repository(pg_settings)
    try:
        await repo.migrate()
        sid = uuid.uuid4()
        await repo.create(sid, "code", None, uuid.uuid4())
        # fill the pool with open connections
        await asyncio.gather(*(repo.get(sid) for _ in range(pg_settings.db_pool_size)))

        for _ in range(3):  # a server restart looks like this to the client
            admin = await asyncpg.connect(pg_settings.database_url)
            try:
                killed = await admin.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            finally:
                await admin.close()
            assert killed >= 1

            got = await asyncio.gather(*(repo.get(sid) for _ in range(pg_settings.db_pool_size * 2)))
            assert all(g is not None and g.id == sid for g in got)
            assert await repo.record_compilation(sid, "code", _ok())
    finally:
        await repo.close()


async def test_a_locked_sqlite_database_times_out_writes_and_recovers(sqlite_settings: Settings) -> None:
    import aiosqlite

    settings = sqlite_settings.model_copy(update={"db_timeout_seconds": TIMEOUT})
    repo = create_repository(settings)
    try:
        await repo.migrate()
        sid = uuid.uuid4()
        await repo.create(sid, "code", None, uuid.uuid4())
        other = await aiosqlite.connect(sqlite_path_from_url(settings.database_url), isolation_level=None)
        try:
            await other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
            started = time.monotonic()
            with pytest.raises(DatabaseUnavailable):
                await repo.update_code(sid, "new code")
            assert time.monotonic() - started < 4 * TIMEOUT + 1
            got = await repo.get(sid)  # WAL: readers are not blocked by a writer
            assert got is not None and got.tsx_code == "code"
            await other.execute("ROLLBACK")
        finally:
            await other.close()
        await asyncio.sleep(TIMEOUT)  # let the timed-out statement finish in its thread
        updated = await repo.update_code(sid, "new code")
        assert updated is not None and updated.tsx_code == "new code"
    finally:
        await repo.close()


class _TcpProxy:
    """A TCP proxy in front of PostgreSQL that can be taken down and brought back (a server restart)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for w in list(self._writers):
            w.transport.abort()
        await self._server.wait_closed()
        self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}


async def test_postgres_recovers_on_its_own_after_an_outage(pg_settings: Settings) -> None:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(pg_settings.database_url)
    proxy = _TcpProxy(parts.port or 5432)
    await proxy.start()
    url = urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}"))
    repo = create_repository(pg_settings.model_copy(update={"database_url": url, "db_timeout_seconds": 1.0}))
    try:
        await repo.migrate()
        sid = uuid.uuid4()
        await repo.create(sid, "code", None, uuid.uuid4())
        await asyncio.gather(*(repo.get(sid) for _ in range(5)))

        await proxy.stop()  # server goes away: every connection drops, new ones are refused
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable):
            await repo.ping()
        with pytest.raises(DatabaseUnavailable):
            await repo.get(sid)
        assert time.monotonic() - started < 3

        await proxy.start()  # and comes back on the same address
        got = await asyncio.gather(*(repo.get(sid) for _ in range(10)))
        assert all(g is not None for g in got)
        assert await repo.record_compilation(sid, "code", _ok())
        await repo.ping()
    finally:
        await repo.close()
        await proxy.stop()
