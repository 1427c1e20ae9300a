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
  CONCURRENTLY, reusing any valid index the product already has on that column, and installs the
  trigger that NOTIFYs the proxy of the product's own writes (proxy/db/listener.py listens).
- A transaction-mode pooler (PgBouncer, Neon's pooled endpoint) cannot keep a prepared statement
  or a session between two transactions. Behind one, asyncpg's statement cache is off (unnamed
  statements only), and migrations and LISTEN use PROXY_DATABASE_DIRECT_URL.
"""

# SQL is built with f-strings only to insert identifiers: the scene table name is validated
# ([A-Za-z0-9_-]) and quoted by proxy.db.schema; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import asyncpg.exceptions as pg_errors

from config.settings import Settings
from core.scenes import Compilation, DatabaseUnavailable, Scene, SceneChange, SceneHead, SchemaMismatch
from proxy.db import schema

T = TypeVar("T")
log = logging.getLogger("artifact_proxy.db")

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


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where to connect, and whether a transaction-mode pooler sits between us and PostgreSQL."""

    dsn: str
    pooled: bool
    reason: str  # why we think so, for the start-up log


def endpoint_of(url: str, pooler: str = "auto") -> Endpoint:
    """`pgbouncer=true` (Prisma's convention) or a Neon "-pooler" host mean a transaction pooler.

    The flag is removed from the DSN: asyncpg would send an unknown query parameter to the server
    as a setting, which PostgreSQL and PgBouncer both refuse."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    flag = next((v for k, v in query if k == "pgbouncer"), None)
    dsn = urlunsplit(parts._replace(query=urlencode([(k, v) for k, v in query if k != "pgbouncer"])))
    if pooler != "auto":
        return Endpoint(dsn, pooler == "transaction", f"PROXY_DATABASE_POOLER={pooler}")
    if flag is not None and flag.lower() in ("1", "true", "yes"):
        return Endpoint(dsn, True, "the URL says pgbouncer=true")
    if "-pooler." in (parts.hostname or ""):
        return Endpoint(dsn, True, "the host is a pooled endpoint (-pooler)")
    return Endpoint(dsn, False, "a direct connection")


def direct_endpoint(settings: Settings) -> Endpoint | None:
    """The connection for migrations and LISTEN: the direct URL, or the main one when it is not
    pooled; None when only a pooler is known (a session cannot live behind one)."""
    if settings.database_direct_url:
        return endpoint_of(settings.database_direct_url, "none")
    main = endpoint_of(settings.database_url, settings.database_pooler)
    return None if main.pooled else main


_CLOSE_FAILURES: tuple[type[BaseException], ...] = (TimeoutError, *_UNAVAILABLE)


def _advisory_key(table: str) -> int:
    digest = hashlib.sha256(f"artifact-proxy:migrate:{table}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def _ours(conn: asyncpg.Connection, sql: str, *args: Any) -> asyncpg.Record | None:
    """One write of our API, marked for the NOTIFY trigger (`writer` in its payload) by a
    transaction-local setting: a pooler in transaction mode keeps it on the one server connection,
    and it is gone at commit. A fresh id per write (it shows in the listener's debug log)."""
    async with conn.transaction():
        await conn.execute(f"SELECT set_config('{schema.WRITER_SETTING}', $1, true)", uuid.uuid4().hex)
        return await conn.fetchrow(sql, *args)


class PostgresSceneRepository:
    """SceneRepository on PostgreSQL (the product's own database in production)."""

    def __init__(self, settings: Settings) -> None:
        self._endpoint = endpoint_of(settings.database_url, settings.database_pooler)
        self._direct = direct_endpoint(settings)
        self._dsn = self._endpoint.dsn
        self._table_name = schema.validate_table_name(settings.scene_table)
        self._table = schema.quote_ident(self._table_name)
        self.columns = schema.SceneColumns(settings.scene_columns)
        self._timeout = settings.db_timeout_seconds
        self._pool_size = settings.db_pool_size
        self._migrate_timeout = max(MIGRATE_MIN_TIMEOUT, 12 * self._timeout)
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()
        self._closed = False
        self._select = f"SELECT {self.columns.select} FROM {self._table}"
        self._returning = f"RETURNING {self.columns.select}"
        log.info("postgres: %s", "transaction pooler (statement cache off): " + self._endpoint.reason
                 if self._endpoint.pooled else self._endpoint.reason, extra={"event": "db_endpoint"})

    @property
    def pooled(self) -> bool:
        return self._endpoint.pooled

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
                    # a pooler hands each transaction to any server: no named statement survives
                    statement_cache_size=0 if self._endpoint.pooled else 100,
                )
            return self._pool

    async def _run(self, what: str, fn: Callable[[asyncpg.Connection], Awaitable[T]], *,
                   retry: bool = True, direct: bool = False) -> T:
        attempts = LOST_CONNECTION_ATTEMPTS if retry else 1
        for attempt in range(1, attempts + 1):
            try:
                if direct:  # a session of its own (migrations: advisory lock, CONCURRENTLY)
                    return await self._on_direct_connection(fn)
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

    async def _on_direct_connection(self, fn: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        endpoint = self._direct or self._endpoint
        conn = await asyncpg.connect(endpoint.dsn, timeout=self._timeout, command_timeout=self._timeout,
                                     statement_cache_size=0 if endpoint.pooled else 100,
                                     server_settings={"application_name": "artifact-proxy-migrate"})
        try:
            return await fn(conn)
        finally:
            await conn.close(timeout=self._timeout)

    # --- schema --------------------------------------------------------------------------------

    async def migrate(self) -> None:
        key = _advisory_key(self._table_name)
        timeout = self._migrate_timeout

        # A session lock only holds on a session: behind a transaction pooler without a direct URL
        # concurrent migrators are not serialized (each step below is idempotent), and we say so.
        session = self._direct is not None
        if not session:
            log.warning("migrating through a transaction pooler: set PROXY_DATABASE_DIRECT_URL so "
                        "migrations take their lock on a session of their own", extra={"event": "migrate"})

        async def run(conn: asyncpg.Connection) -> None:
            if session:
                await self._advisory_lock(conn, key, timeout)
            try:
                async with conn.transaction():
                    await conn.execute(
                        f"SET LOCAL lock_timeout = '{int(max(self._timeout, 1.0) * 1000)}ms'", timeout=timeout
                    )
                    created = await self._migrate_tables(conn, timeout)
                    await self._install_trigger(conn, timeout)
                if not created:
                    await self._ensure_index_concurrently(conn, timeout)
            finally:
                if session and not conn.is_closed():
                    await conn.execute("SELECT pg_advisory_unlock($1)", key, timeout=timeout)

        await self._run("migrate", run, direct=True)

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
        c = self.columns
        if created:
            compilation = ", ".join(f"{n} {t}" for n, t in schema.COMPILATION_COLUMNS_PG.items())
            # the product's shape (its migrations make it; we make it only where it does not exist)
            await conn.execute(
                f"CREATE TABLE {self._table} ("
                f"id uuid PRIMARY KEY DEFAULT gen_random_uuid(), {c.project_id} uuid NOT NULL, "
                f"{c.order} integer NOT NULL DEFAULT 0, {c.name} varchar(255) NOT NULL DEFAULT 'Scene', "
                f"{c.tsx_code} text NOT NULL, props jsonb, {c.duration} integer NOT NULL DEFAULT 150, "
                f"{c.revision} integer NOT NULL DEFAULT 1, {c.created_at} timestamptz NOT NULL DEFAULT now(), "
                f"{c.updated_at} timestamptz, {c.deleted_at} timestamptz, {compilation})",
                timeout=seconds,
            )
            await conn.execute(
                f"CREATE INDEX {schema.quote_ident(schema.index_name(self._table_name))} "
                f"ON {self._table} (compiled_hash)",
                timeout=seconds,
            )
            await conn.execute(
                f"CREATE INDEX {schema.quote_ident(schema.project_index_name(self._table_name))} "
                f"ON {self._table} ({c.project_id}, {c.order})",
                timeout=seconds,
            )
        else:
            existing = await self._column_names(conn, relid, seconds)
            if await self._is_our_v1_table(conn, existing, seconds):
                existing = await self._upgrade_v1(conn, relid, existing, seconds)
            missing = c.missing(existing)
            if "id" not in existing:
                missing = {"id": "id", **missing}
            if missing:
                raise SchemaMismatch(schema.schema_mismatch_message(self._table_name, missing))
            adds = [(n, t) for n, t in schema.COMPILATION_COLUMNS_PG.items() if n not in existing]
            if adds:  # one ALTER, no defaults: a catalog change, instant on a table of any size
                sql = ", ".join(f"ADD COLUMN IF NOT EXISTS {n} {t}" for n, t in adds)
                await conn.execute(f"ALTER TABLE {self._table} {sql}", timeout=seconds)
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

    @staticmethod
    async def _column_names(conn: asyncpg.Connection, relid: int, seconds: float) -> set[str]:
        rows = await conn.fetch(
            "SELECT attname FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped",
            relid,
            timeout=seconds,
        )
        return {r["attname"] for r in rows}

    async def _is_our_v1_table(self, conn: asyncpg.Connection, existing: set[str], seconds: float) -> bool:
        """A table an earlier artifact-proxy created in its own snake_case shape (never a product's)."""
        if not {"tsx_code", "project_id", "updated_at"} <= existing or self.columns.names["tsx_code"] in existing:
            return False
        if await conn.fetchval("SELECT to_regclass($1)::oid", schema.VERSION_TABLE, timeout=seconds) is None:
            return False
        version = await conn.fetchval(f"SELECT version FROM {schema.VERSION_TABLE} WHERE scene_table = $1",
                                      self._table_name, timeout=seconds)
        return version == 1

    async def _upgrade_v1(self, conn: asyncpg.Connection, relid: int, existing: set[str],
                          seconds: float) -> set[str]:
        """Rename our v1 columns to the product's names and add the ones v1 lacked."""
        c = self.columns
        for old, key in schema.V1_RENAMES.items():
            await conn.execute(f"ALTER TABLE {self._table} RENAME COLUMN {old} TO "
                               f"{schema.quote_ident(c.names[key])}", timeout=seconds)
        await conn.execute(f"UPDATE {self._table} SET {c.project_id} = gen_random_uuid() "
                           f"WHERE {c.project_id} IS NULL", timeout=seconds)
        await conn.execute(
            f"ALTER TABLE {self._table} ALTER COLUMN {c.project_id} SET NOT NULL, "
            f"ADD COLUMN IF NOT EXISTS {c.order} integer NOT NULL DEFAULT 0, "
            f"ADD COLUMN IF NOT EXISTS {c.duration} integer NOT NULL DEFAULT 150, "
            f"ADD COLUMN IF NOT EXISTS {c.revision} integer NOT NULL DEFAULT 1, "
            f"ADD COLUMN IF NOT EXISTS {c.created_at} timestamptz NOT NULL DEFAULT now(), "
            f"ADD COLUMN IF NOT EXISTS {c.deleted_at} timestamptz", timeout=seconds)
        log.info("upgraded the scene table from the v1 shape", extra={"event": "migrate"})
        return await self._column_names(conn, relid, seconds)

    async def _install_trigger(self, conn: asyncpg.Connection, seconds: float) -> None:
        """NOTIFY the proxy when the product (or anyone) changes a scene's code, project, deletion,
        or its place and labels in the project.

        The payload is JSON {id, projectId, oldProjectId, writer}; NOTIFY is delivered at commit, so a
        listener that reads the row afterwards sees the new code. A trigger that is already there
        (same function body) is left alone, so a restart takes no lock on the product's table."""
        c = self.columns
        function = schema.trigger_function_name(self._table_name)
        channel = schema.notify_channel(self._table_name)
        # `writer`: set by our own API's writes (transaction-local), so every listener knows the
        # writing node purges the edge and compiles, and leaves both to it (one purge per write)
        writer = f"NULLIF(current_setting('{schema.WRITER_SETTING}', true), '')"
        def notify(row: str, extra: str = "") -> str:
            payload = (f"json_build_object('id', {row}.id, 'projectId', {row}.{c.project_id}{extra}, "
                       f"'writer', {writer})::text")
            return f"PERFORM pg_notify('{channel}', {payload});"

        # what changes an answer: the code, the project, deletion, and the project module's order and labels
        watched = (c.tsx_code, c.project_id, c.deleted_at, c.order, c.name, c.duration)
        unchanged = " AND ".join(f"NEW.{col} IS NOT DISTINCT FROM OLD.{col}" for col in watched)
        moved = f", 'oldProjectId', OLD.{c.project_id}"
        body = "\n".join((
            "BEGIN",
            f"  IF TG_OP = 'UPDATE' AND {unchanged} THEN RETURN NULL; END IF;",
            f"  IF TG_OP = 'DELETE' THEN {notify('OLD')}",
            f"  ELSIF TG_OP = 'UPDATE' THEN {notify('NEW', moved)}",
            f"  ELSE {notify('NEW')}",
            "  END IF;",
            "  RETURN NULL;",
            "END",
        ))
        current = await conn.fetchval(
            "SELECT p.prosrc FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid "
            "WHERE t.tgrelid = to_regclass($1) AND t.tgname = $2 AND NOT t.tgisinternal",
            self._table, schema.TRIGGER_NAME, timeout=seconds)
        if current == body:
            return
        await conn.execute(f"CREATE OR REPLACE FUNCTION {schema.quote_ident(function)}() RETURNS trigger "
                           f"LANGUAGE plpgsql AS $fn${body}$fn$", timeout=seconds)
        await conn.execute(
            f"CREATE OR REPLACE TRIGGER {schema.quote_ident(schema.TRIGGER_NAME)} "
            f"AFTER INSERT OR DELETE OR UPDATE OF {', '.join(watched)} "
            f"ON {self._table} FOR EACH ROW EXECUTE FUNCTION {schema.quote_ident(function)}()",
            timeout=seconds)

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
        sql = f"{self._select} WHERE id = $1 AND {self.columns.live}"
        row = await self._run("get", lambda c: c.fetchrow(sql, scene_id))
        return schema.row_to_scene(row) if row is not None else None

    async def create(self, scene_id: uuid.UUID, tsx_code: str, name: str | None,
                     project_id: uuid.UUID, duration: int | None = None) -> Scene:
        schema.check_text(tsx_code=tsx_code, name=name)
        c = self.columns
        # a new scene goes last in its project; the product's own defaults fill what we leave out
        given = [(col, v) for col, v in ((c.name, name), (c.duration, duration)) if v is not None]
        columns = "".join(f", {col}" for col, _ in given)
        values = "".join(f", ${4 + i}" for i in range(len(given)))
        sql = (
            f"INSERT INTO {self._table} (id, {c.tsx_code}, {c.project_id}, {c.order}, {c.created_at}, "
            f"{c.updated_at}{columns}) VALUES ($1, $2, $3, "
            f"(SELECT COALESCE(max({c.order}) + 1, 0) FROM {self._table} WHERE {c.project_id} = $3), "
            f"now(), now(){values}) {self._returning}"
        )
        args = (scene_id, tsx_code, project_id, *(v for _, v in given))
        try:
            row = await self._run("create", lambda conn: _ours(conn, sql, *args), retry=False)
        except pg_errors.UniqueViolationError:
            raise KeyError(scene_id) from None
        except pg_errors.ForeignKeyViolationError:
            raise ValueError(f"project {project_id} does not exist in the product's project table") from None
        except pg_errors.IntegrityConstraintViolationError as e:
            raise ValueError(f"scene {scene_id} violates a constraint: {e}") from None
        return schema.row_to_scene(row)

    async def update_code(self, scene_id: uuid.UUID, tsx_code: str, name: str | None = None) -> Scene | None:
        schema.check_text(tsx_code=tsx_code, name=name)
        c = self.columns
        sql = (
            f"UPDATE {self._table} SET {c.tsx_code} = $2, {c.name} = COALESCE($3, {c.name}), "
            f"{c.updated_at} = now(), {c.revision} = {c.revision} + 1, compilation_error = NULL "
            f"WHERE id = $1 AND {c.live} {self._returning}"
        )
        row = await self._run("update_code", lambda conn: _ours(conn, sql, scene_id, tsx_code, name))
        return schema.row_to_scene(row) if row is not None else None

    async def record_compilation(self, scene_id: uuid.UUID, compiled_code: str, result: Compilation) -> bool:
        schema.check_compilation(result)
        schema.check_text(compiled_code=compiled_code, hash=result.hash, url=result.url)
        code = self.columns.tsx_code
        args: tuple[Any, ...]
        if result.hash is not None:
            sql = (
                f"UPDATE {self._table} SET compiled_hash = $3, compiled_url = $4, compiled_at = now(), "
                f"compilation_error = NULL WHERE id = $1 AND {code} = $2"
            )
            args = (scene_id, compiled_code, result.hash, result.url)
        else:
            sql = f"UPDATE {self._table} SET compilation_error = $3 WHERE id = $1 AND {code} = $2"
            args = (scene_id, compiled_code, schema.failure_message(result))
        status = await self._run("record_compilation", lambda c: c.execute(sql, *args))
        return status != "UPDATE 0"

    async def list_after(self, after: uuid.UUID | None, limit: int) -> list[Scene]:
        schema.check_limit(limit)
        live = self.columns.live
        if after is None:
            sql = f"{self._select} WHERE {live} ORDER BY id LIMIT $1"
            rows = await self._run("list_after", lambda c: c.fetch(sql, limit))
        else:
            sql = f"{self._select} WHERE id > $1 AND {live} ORDER BY id LIMIT $2"
            rows = await self._run("list_after", lambda c: c.fetch(sql, after, limit))
        return [schema.row_to_scene(r) for r in rows]

    async def list_project(self, project_id: uuid.UUID, limit: int) -> list[Scene]:
        schema.check_limit(limit)
        c = self.columns
        sql = f"{self._select} WHERE {c.project_id} = $1 AND {c.live} ORDER BY {c.project_order} LIMIT $2"
        rows = await self._run("list_project", lambda conn: conn.fetch(sql, project_id, limit))
        return [schema.row_to_scene(r) for r in rows]

    async def project_heads(self, project_id: uuid.UUID, limit: int, fingerprint: str) -> list[SceneHead]:
        schema.check_limit(limit)
        c = self.columns
        sql = (f"SELECT {c.head}, {schema.pg_source_hash('$3', c.tsx_code)} AS code_hash FROM {self._table} "
               f"WHERE {c.project_id} = $1 AND {c.live} ORDER BY {c.project_order} LIMIT $2")
        rows = await self._run("project_heads", lambda conn: conn.fetch(sql, project_id, limit, fingerprint))
        return [schema.row_to_head(r) for r in rows]

    async def find_code_by_hash(self, compiled_hash: str) -> str | None:
        # a row with an error keeps its last good hash but not that hash's code: skip those
        sql = (f"SELECT {self.columns.tsx_code} FROM {self._table} WHERE compiled_hash = $1 "
               f"AND compilation_error IS NULL AND {self.columns.live} LIMIT 1")
        value = await self._run("find_code_by_hash", lambda c: c.fetchval(sql, compiled_hash))
        return None if value is None else str(value)

    async def count(self) -> int:
        sql = f"SELECT count(*) FROM {self._table} WHERE {self.columns.live}"
        return int(await self._run("count", lambda c: c.fetchval(sql)))

    async def count_project(self, project_id: uuid.UUID) -> int:
        c = self.columns
        sql = f"SELECT count(*) FROM {self._table} WHERE {c.project_id} = $1 AND {c.live}"
        return int(await self._run("count_project", lambda conn: conn.fetchval(sql, project_id)))

    async def project_of(self, scene_id: uuid.UUID) -> uuid.UUID | None:
        sql = f"SELECT {self.columns.project_id} FROM {self._table} WHERE id = $1"
        return schema.to_uuid(await self._run("project_of", lambda c: c.fetchval(sql, scene_id)))

    async def changed_since(self, since: datetime) -> list[SceneChange]:
        c = self.columns
        sql = (f"SELECT id, {c.project_id} AS project_id FROM {self._table} "
               f"WHERE COALESCE({c.updated_at}, {c.created_at}) > $1 OR {c.deleted_at} > $1")
        rows = await self._run("changed_since", lambda conn: conn.fetch(sql, since))
        return [schema.change_of(r["id"], r["project_id"]) for r in rows]

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
            except _CLOSE_FAILURES:
                pool.terminate()
