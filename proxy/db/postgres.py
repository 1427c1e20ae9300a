"""PostgreSQL backend (asyncpg pool).

- The pool is created lazily on first use (min_size 0), so a server that is down at start-up only
  makes calls fail with DatabaseUnavailable; the next call tries again.
- After a server restart the pool's dead connections are replaced on acquire; a call that still
  hits a lost connection is retried (every operation except `create` is idempotent, and `create`
  is never retried).
- Waits are bounded: connect + acquire by db_timeout_seconds, every statement by command_timeout.
- migrate() runs under a session advisory lock (polled, see _advisory_lock) so N processes starting
  at once do not race. On an existing product table it only adds the missing columns (one ALTER,
  short lock_timeout so a busy table is not blocked) and builds the compiled_hash index
  CONCURRENTLY, reusing any valid index the product already has on that column.
"""

# SQL is built with f-strings only to insert identifiers: the scene table name is validated
# ([A-Za-z0-9_-]) and quoted by proxy.db.schema; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
import asyncpg.exceptions as pg_errors

from config.settings import Settings
from proxy.db import schema
from proxy.db.base import Compilation, DatabaseUnavailable, Scene

T = TypeVar("T")

MIGRATE_MIN_TIMEOUT = 120.0  # index builds on a large existing table may take a while
# After a restart several pooled connections may be dead at once; each retry gets a fresh one.
LOST_CONNECTION_ATTEMPTS = 3
MIGRATE_LOCK_POLL_SECONDS = 0.05

# A connection that died under us (server restart, pg_terminate_backend, network blip): retry once.
_LOST_CONNECTION: tuple[type[BaseException], ...] = (
    pg_errors.PostgresConnectionError,
    pg_errors.AdminShutdownError,
    pg_errors.CrashShutdownError,
    pg_errors.InterfaceError,
    # asyncpg reports a FATAL message the server sent to an idle connection this way
    pg_errors.InternalClientError,
    ConnectionError,
)
# Everything that means "the database is not usable right now".
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    *_LOST_CONNECTION,
    pg_errors.OperatorInterventionError,  # includes cannot_connect_now, query_canceled
    pg_errors.InsufficientResourcesError,  # too many connections, disk full
    OSError,
    TimeoutError,
)


def _advisory_key(table: str) -> int:
    digest = hashlib.sha256(f"artifact-proxy:migrate:{table}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresSceneRepository:
    """SceneRepository on PostgreSQL (the product's own database in production)."""

    def __init__(self, settings: Settings) -> None:
        self._dsn = settings.database_url
        self._table_name = schema.validate_table_name(settings.scene_table)
        self._table = schema.quote_ident(self._table_name)
        self._timeout = settings.db_timeout_seconds
        self._pool_size = settings.db_pool_size
        self._migrate_timeout = max(MIGRATE_MIN_TIMEOUT, 12 * self._timeout)
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()
        self._closed = False
        cols = ", ".join(schema.SCENE_COLUMNS)
        self._select = f"SELECT {cols} FROM {self._table}"
        self._returning = f"RETURNING {cols}"

    # --- plumbing ------------------------------------------------------------------------------

    async def _get_pool(self) -> asyncpg.Pool:
        if self._pool is not None:
            return self._pool
        async with self._pool_lock:
            if self._closed:
                raise DatabaseUnavailable("postgres repository is closed")
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._dsn,
                    min_size=0,
                    max_size=self._pool_size,
                    command_timeout=self._timeout,
                    timeout=self._timeout,  # connect timeout
                    server_settings={"application_name": "artifact-proxy"},
                )
            return self._pool

    async def _run(self, what: str, fn: Callable[[asyncpg.Connection], Awaitable[T]], *,
                   retry: bool = True) -> T:
        attempts = LOST_CONNECTION_ATTEMPTS if retry else 1
        for attempt in range(1, attempts + 1):
            try:
                pool = await asyncio.wait_for(self._get_pool(), self._timeout)
                async with pool.acquire(timeout=self._timeout) as conn:
                    return await fn(conn)
            except _LOST_CONNECTION as e:
                if attempt < attempts and not isinstance(e, ConnectionRefusedError):
                    continue
                raise DatabaseUnavailable(f"postgres {what}: {type(e).__name__}: {e}") from e
            except _UNAVAILABLE as e:
                raise DatabaseUnavailable(f"postgres {what}: {type(e).__name__}: {e}".rstrip(": ")) from e
            except pg_errors.DataError as e:
                raise ValueError(f"postgres {what}: {e}") from e
            except pg_errors.IntegrityConstraintViolationError:
                raise
            except pg_errors.PostgresError as e:  # e.g. table missing: not usable until migrated
                raise DatabaseUnavailable(f"postgres {what}: {type(e).__name__}: {e}") from e
        raise AssertionError("unreachable")

    # --- schema --------------------------------------------------------------------------------

    async def migrate(self) -> None:
        key = _advisory_key(self._table_name)
        timeout = self._migrate_timeout

        async def run(conn: asyncpg.Connection) -> None:
            await self._advisory_lock(conn, key, timeout)
            try:
                async with conn.transaction():
                    await conn.execute(
                        f"SET LOCAL lock_timeout = '{int(max(self._timeout, 1.0) * 1000)}ms'", timeout=timeout
                    )
                    created = await self._migrate_tables(conn, timeout)
                if not created:
                    await self._ensure_index_concurrently(conn, timeout)
            finally:
                if not conn.is_closed():
                    await conn.execute("SELECT pg_advisory_unlock($1)", key, timeout=timeout)

        await self._run("migrate", run)

    @staticmethod
    async def _advisory_lock(conn: asyncpg.Connection, key: int, seconds: float) -> None:
        """Take the migration lock by polling, not by a blocking pg_advisory_lock().

        A session blocked in pg_advisory_lock() sits in an open transaction, and CREATE INDEX
        CONCURRENTLY in the lock holder waits for every such transaction: a deadlock. Polling
        leaves the waiters idle between short statements.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", key):
            if loop.time() >= deadline:
                raise DatabaseUnavailable(f"another process held the migration lock for over {seconds:.0f}s")
            await asyncio.sleep(MIGRATE_LOCK_POLL_SECONDS)

    async def _migrate_tables(self, conn: asyncpg.Connection, seconds: float) -> bool:
        """Create or upgrade the tables inside the caller's transaction. True if the scene table is new."""
        relid = await conn.fetchval("SELECT to_regclass($1)::oid", self._table, timeout=seconds)
        created = relid is None
        if created:
            compilation = ", ".join(f"{c} {t}" for c, t in schema.COMPILATION_COLUMNS_PG.items())
            await conn.execute(
                f"CREATE TABLE {self._table} ("
                "id uuid PRIMARY KEY, tsx_code text NOT NULL, name text, project_id uuid, "
                f"updated_at timestamptz DEFAULT now(), {compilation})",
                timeout=seconds,
            )
            await conn.execute(
                f"CREATE INDEX {schema.quote_ident(schema.index_name(self._table_name))} "
                f"ON {self._table} (compiled_hash)",
                timeout=seconds,
            )
            await conn.execute(
                f"CREATE INDEX {schema.quote_ident(schema.project_index_name(self._table_name))} "
                f"ON {self._table} (project_id)",
                timeout=seconds,
            )
        else:
            rows = await conn.fetch(
                "SELECT attname FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped",
                relid,
                timeout=seconds,
            )
            existing = {r["attname"] for r in rows}
            missing_product = {"id", "tsx_code"} - existing
            if missing_product:
                raise DatabaseUnavailable(
                    f"table {self._table_name} exists but lacks {sorted(missing_product)}; not a scene table"
                )
            missing = [(c, t) for c, t in schema.COMPILATION_COLUMNS_PG.items() if c not in existing]
            if missing:  # one ALTER: one short ACCESS EXCLUSIVE lock, only when something is missing
                adds = ", ".join(f"ADD COLUMN IF NOT EXISTS {c} {t}" for c, t in missing)
                await conn.execute(f"ALTER TABLE {self._table} {adds}", timeout=seconds)
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {schema.FLAG_TABLE} ("
            "name text PRIMARY KEY, "
            "rollout_percentage integer NOT NULL CHECK (rollout_percentage BETWEEN 0 AND 100), "
            "updated_at timestamptz NOT NULL DEFAULT now())",
            timeout=seconds,
        )
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {schema.VERSION_TABLE} ("
            "scene_table text PRIMARY KEY, version integer NOT NULL, "
            "migrated_at timestamptz NOT NULL DEFAULT now())",
            timeout=seconds,
        )
        await conn.execute(
            f"INSERT INTO {schema.VERSION_TABLE} AS v (scene_table, version) VALUES ($1, $2) "
            "ON CONFLICT (scene_table) DO UPDATE SET version = excluded.version, migrated_at = now() "
            "WHERE v.version < excluded.version",
            self._table_name,
            schema.SCHEMA_VERSION,
            timeout=seconds,
        )
        return created

    async def _ensure_index_concurrently(self, conn: asyncpg.Connection, seconds: float) -> None:
        """Index compiled_hash on an existing (possibly busy, large) table without blocking writes.

        An index the product already has on compiled_hash (any name) is reused. A leftover INVALID
        index of ours (an interrupted CONCURRENTLY build) is dropped and rebuilt.
        """
        rows = await conn.fetch(
            """
            SELECT i.relname AS name, n.nspname AS schema, x.indisvalid AS valid
            FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_namespace n ON n.oid = i.relnamespace
            JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]
            WHERE x.indrelid = to_regclass($1) AND a.attname = 'compiled_hash' AND x.indpred IS NULL
            """,
            self._table,
            timeout=seconds,
        )
        if any(r["valid"] for r in rows):
            return
        ours = schema.index_name(self._table_name)
        for r in rows:
            if r["name"] == ours:
                qualified = f"{schema.quote_ident(r['schema'])}.{schema.quote_ident(ours)}"
                await conn.execute(
                    f"DROP INDEX CONCURRENTLY IF EXISTS {qualified}",
                    timeout=seconds,
                )
        await conn.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {schema.quote_ident(ours)} "
            f"ON {self._table} (compiled_hash)",
            timeout=seconds,
        )

    # --- scenes --------------------------------------------------------------------------------

    async def get(self, scene_id: uuid.UUID) -> Scene | None:
        sql = f"{self._select} WHERE id = $1"
        row = await self._run("get", lambda c: c.fetchrow(sql, scene_id))
        return schema.row_to_scene(row) if row is not None else None

    async def create(self, scene_id: uuid.UUID, tsx_code: str, name: str | None,
                     project_id: uuid.UUID | None) -> Scene:
        schema.check_text(tsx_code=tsx_code, name=name)
        sql = (
            f"INSERT INTO {self._table} (id, tsx_code, name, project_id, updated_at) "
            f"VALUES ($1, $2, $3, $4, now()) {self._returning}"
        )
        try:
            row = await self._run(
                "create", lambda c: c.fetchrow(sql, scene_id, tsx_code, name, project_id), retry=False
            )
        except pg_errors.UniqueViolationError:
            raise KeyError(scene_id) from None
        except pg_errors.IntegrityConstraintViolationError as e:  # e.g. the product's foreign key
            raise ValueError(f"scene {scene_id} violates a constraint: {e}") from None
        return schema.row_to_scene(row)

    async def update_code(self, scene_id: uuid.UUID, tsx_code: str, name: str | None = None) -> Scene | None:
        schema.check_text(tsx_code=tsx_code, name=name)
        sql = (
            f"UPDATE {self._table} SET tsx_code = $2, name = COALESCE($3, name), updated_at = now() "
            f"WHERE id = $1 {self._returning}"
        )
        row = await self._run("update_code", lambda c: c.fetchrow(sql, scene_id, tsx_code, name))
        return schema.row_to_scene(row) if row is not None else None

    async def record_compilation(self, scene_id: uuid.UUID, compiled_code: str, result: Compilation) -> bool:
        schema.check_compilation(result)
        schema.check_text(compiled_code=compiled_code, hash=result.hash, url=result.url)
        args: tuple[Any, ...]
        if result.hash is not None:
            sql = (
                f"UPDATE {self._table} SET compiled_hash = $3, compiled_url = $4, compiled_at = now(), "
                "compilation_error = NULL WHERE id = $1 AND tsx_code = $2"
            )
            args = (scene_id, compiled_code, result.hash, result.url)
        else:
            sql = f"UPDATE {self._table} SET compilation_error = $3 WHERE id = $1 AND tsx_code = $2"
            args = (scene_id, compiled_code, schema.failure_message(result))
        status = await self._run("record_compilation", lambda c: c.execute(sql, *args))
        return status != "UPDATE 0"

    async def list_after(self, after: uuid.UUID | None, limit: int) -> list[Scene]:
        schema.check_limit(limit)
        if after is None:
            sql = f"{self._select} ORDER BY id LIMIT $1"
            rows = await self._run("list_after", lambda c: c.fetch(sql, limit))
        else:
            sql = f"{self._select} WHERE id > $1 ORDER BY id LIMIT $2"
            rows = await self._run("list_after", lambda c: c.fetch(sql, after, limit))
        return [schema.row_to_scene(r) for r in rows]

    async def list_project(self, project_id: uuid.UUID, limit: int) -> list[Scene]:
        schema.check_limit(limit)
        sql = f"{self._select} WHERE project_id = $1 ORDER BY id LIMIT $2"
        rows = await self._run("list_project", lambda c: c.fetch(sql, project_id, limit))
        return [schema.row_to_scene(r) for r in rows]

    async def find_code_by_hash(self, compiled_hash: str) -> str | None:
        # a row with an error keeps its last good hash but not that hash's code: skip those
        sql = f"SELECT tsx_code FROM {self._table} WHERE compiled_hash = $1 AND compilation_error IS NULL LIMIT 1"
        value = await self._run("find_code_by_hash", lambda c: c.fetchval(sql, compiled_hash))
        return None if value is None else str(value)

    async def count(self) -> int:
        sql = f"SELECT count(*) FROM {self._table}"
        return int(await self._run("count", lambda c: c.fetchval(sql)))

    # --- flags ---------------------------------------------------------------------------------

    async def get_flag(self, name: str) -> int | None:
        sql = f"SELECT rollout_percentage FROM {schema.FLAG_TABLE} WHERE name = $1"
        value = await self._run("get_flag", lambda c: c.fetchval(sql, name))
        return None if value is None else int(value)

    async def set_flag(self, name: str, rollout_percentage: int) -> None:
        schema.check_rollout(rollout_percentage)
        sql = (
            f"INSERT INTO {schema.FLAG_TABLE} (name, rollout_percentage, updated_at) VALUES ($1, $2, now()) "
            "ON CONFLICT (name) DO UPDATE SET rollout_percentage = excluded.rollout_percentage, "
            "updated_at = excluded.updated_at"
        )
        await self._run("set_flag", lambda c: c.execute(sql, name, rollout_percentage))

    # --- lifecycle -----------------------------------------------------------------------------

    async def ping(self) -> None:
        await self._run("ping", lambda c: c.fetchval("SELECT 1"))

    async def close(self) -> None:
        async with self._pool_lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), self._timeout)
            except (TimeoutError, *_UNAVAILABLE):
                pool.terminate()
