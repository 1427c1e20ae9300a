"""Database fixtures (pytest plugin, registered in tests/conftest.py).

- `pg_admin_dsn` (session): DSN of the maintenance database; fails (never skips) when PostgreSQL
  is not reachable. Override the server with PROXY_TEST_PG_ADMIN_DSN.
- `pg_dsn_factory` (session): a `PgDatabaseFactory`; `.create() -> dsn` makes a fresh, uniquely
  named database (from template0, ~30 ms), `.drop(dsn)` drops it WITH (FORCE). Leftovers are
  dropped at the end of the session.
- `pg_settings` (function): `Settings(database_url=<fresh database>)`, dropped after the test.
- `sqlite_settings` (function): `Settings(database_url=sqlite:////<tmp_path>/proxy.sqlite3)`.
- `db_backend` (function, parametrized "sqlite" / "postgres" / "pgbouncer") and `db_settings`: the
  settings of that backend ("pgbouncer": a fresh database through a transaction-mode PgBouncer, with
  the direct URL beside it, as on Neon); `repo`: a migrated SceneRepository on it, closed after the test.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from config.settings import Settings
from proxy.db import SceneRepository, create_repository

T = TypeVar("T")

DEFAULT_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
DB_PREFIX = "ap_test_"
BACKENDS = ("sqlite", "postgres", "pgbouncer")


def _run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even when called inside a running loop."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


class PgDatabaseFactory:
    """Creates and drops throwaway databases on the test server. Thread-safe, sync API."""

    def __init__(self, admin_dsn: str) -> None:
        self.admin_dsn = admin_dsn
        self._created: set[str] = set()
        self._lock = threading.Lock()

    def create(self) -> str:
        """Create a fresh empty database and return its DSN."""
        name = f"{DB_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:12]}"
        _run_sync(self._admin(f'CREATE DATABASE "{name}" TEMPLATE template0'))
        with self._lock:
            self._created.add(name)
        return _with_database(self.admin_dsn, name)

    def drop(self, dsn: str) -> None:
        """Drop a database made by create(), disconnecting any session still using it."""
        name = urlsplit(dsn).path.lstrip("/")
        if not name.startswith(DB_PREFIX):
            raise ValueError(f"refusing to drop {name!r}: not a test database")
        _run_sync(self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        with self._lock:
            self._created.discard(name)

    def drop_all(self) -> None:
        with self._lock:
            names = list(self._created)
        for name in names:
            self.drop(_with_database(self.admin_dsn, name))

    async def _admin(self, sql: str) -> None:
        conn = await asyncpg.connect(self.admin_dsn, timeout=10)
        try:
            await conn.execute(sql, timeout=30)
        finally:
            await conn.close()


async def _check_reachable(dsn: str) -> str:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_admin_dsn() -> str:
    dsn = os.environ.get("PROXY_TEST_PG_ADMIN_DSN", DEFAULT_ADMIN_DSN)
    error: str | None = None
    try:
        _run_sync(_check_reachable(dsn))
    except Exception as e:
        error = f"{type(e).__name__}: {e}"
    if error is not None:  # fail outside the except block: one clear line, no chained traceback
        pytest.fail(
            f"PostgreSQL is not reachable at {dsn} ({error}). The database tests need a running server "
            "with trust auth for user postgres (e.g. `apt-get install postgresql && service postgresql "
            "start`), or set PROXY_TEST_PG_ADMIN_DSN.",
            pytrace=False,
        )
    return dsn


@pytest.fixture(scope="session")
def pg_dsn_factory(pg_admin_dsn: str) -> Iterator[PgDatabaseFactory]:
    factory = PgDatabaseFactory(pg_admin_dsn)
    yield factory
    factory.drop_all()


@pytest.fixture
def pg_settings(pg_dsn_factory: PgDatabaseFactory) -> Iterator[Settings]:
    dsn = pg_dsn_factory.create()
    try:
        yield Settings(database_url=dsn, db_pool_size=5, db_timeout_seconds=5.0)
    finally:
        pg_dsn_factory.drop(dsn)


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'proxy.sqlite3'}", db_pool_size=5,
                    db_timeout_seconds=5.0)


@pytest.fixture(params=BACKENDS)
def db_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_settings(db_backend: str, request: pytest.FixtureRequest) -> Settings:
    fixture = {"sqlite": "sqlite_settings", "postgres": "pg_settings", "pgbouncer": "pg_settings"}[db_backend]
    settings: Settings = request.getfixturevalue(fixture)
    if db_backend == "pgbouncer":
        bouncer = request.getfixturevalue("pgbouncer")
        return settings.model_copy(update={"database_url": bouncer.pooled(settings.database_url),
                                           "database_direct_url": settings.database_url})
    return settings


@pytest.fixture
async def repo(db_settings: Settings) -> AsyncIterator[SceneRepository]:
    repository = create_repository(db_settings)
    await repository.migrate()
    try:
        yield repository
    finally:
        await repository.close()
