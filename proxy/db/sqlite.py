"""SQLite backend (aiosqlite): one writer connection and a few reader connections, WAL mode.

Every public call is bounded by Settings.db_timeout_seconds (asyncio timeout on top of SQLite's
busy_timeout) and maps driver errors to DatabaseUnavailable. uuids are stored as canonical lowercase
TEXT (so text order is uuid order), timestamps as ISO-8601 UTC text.
"""

# SQL is built with f-strings only to insert identifiers: the scene table name is validated
# ([A-Za-z0-9_-]) and quoted by proxy.db.schema; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import aiosqlite

from config.settings import Settings
from core.scenes import Compilation, DatabaseUnavailable, Scene, SceneChange, SceneHead, SchemaMismatch, source_hash
from proxy.db import schema

T = TypeVar("T")

MAX_READERS = 4
# migrate() may have to wait for other processes holding the write lock and rebuild an index
MIGRATE_TIMEOUT_FACTOR = 6.0
ROLLBACK_WAIT_SECONDS = 1.0


def sqlite_path_from_url(url: str) -> Path:
    """`sqlite:///./rel/path` -> ./rel/path (relative to the cwd); `sqlite:////abs/path` -> /abs/path."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite":
        raise ValueError(f"not a sqlite URL: {url!r}")
    if parts.netloc:
        raise ValueError(f"sqlite URL {url!r} has a host; use sqlite:///relative/path or sqlite:////abs/path")
    path = unquote(parts.path)
    if not path.startswith("/") or len(path) < 2:
        raise ValueError(f"sqlite URL {url!r} has no path; use sqlite:///./data/proxy.sqlite3")
    path = path[1:]
    if path == ":memory:":
        raise ValueError("in-memory sqlite is not supported (one writer + readers need a file)")
    return Path(path)


def _id(value: uuid.UUID) -> str:
    """Canonical lowercase text, so equality and ordering match PostgreSQL's uuid type."""
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))


def _opt_id(value: uuid.UUID | None) -> str | None:
    return None if value is None else _id(value)


class SqliteSceneRepository:
    """SceneRepository on a SQLite file. Connections open lazily on first use."""

    def __init__(self, settings: Settings) -> None:
        self._path = sqlite_path_from_url(settings.database_url)
        self._table_name = schema.validate_table_name(settings.scene_table)
        self._table = schema.quote_ident(self._table_name)
        self.columns = schema.SceneColumns(settings.scene_columns)
        self._timeout = settings.db_timeout_seconds
        self._n_readers = max(1, min(settings.db_pool_size, MAX_READERS))
        self._writer: aiosqlite.Connection | None = None
        self._readers: list[aiosqlite.Connection] = []
        self._next_reader: Iterator[int] = itertools.cycle(range(self._n_readers))
        self._open_lock = asyncio.Lock()
        self._write_lock = asyncio.Lock()
        self._closed = False
        self._abandoned = False  # the writer may still be inside a transaction we gave up on
        self._select = f"SELECT {self.columns.select} FROM {self._table}"
        self._returning = f"RETURNING {self.columns.select}"

    @property
    def path(self) -> Path:
        return self._path

    # --- connections ---------------------------------------------------------------------------

    async def _connect(self, *, writer: bool) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self._path, isolation_level=None, timeout=self._timeout)
        try:
            conn.row_factory = sqlite3.Row
            # the hash is computed inside SQLite's thread, so the source is never handed to the event loop
            await conn.create_function(schema.SQLITE_SOURCE_HASH, 2, source_hash, deterministic=True)
            await conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            if writer:
                await self._enable_wal(conn)
            else:
                await conn.execute("PRAGMA query_only = ON")
            await conn.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            await conn.close()
            raise
        return conn

    async def _enable_wal(self, conn: aiosqlite.Connection) -> None:
        """Switch to WAL (persistent in the file). The switch needs the database to itself and
        SQLite does not wait on its busy handler for it, so retry briefly while others use it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        while True:
            try:
                rows = list(await conn.execute_fetchall("PRAGMA journal_mode = WAL"))
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or loop.time() >= deadline:
                    raise
                await asyncio.sleep(0.02)
                continue
            if str(rows[0][0]).lower() != "wal":
                raise DatabaseUnavailable(f"sqlite at {self._path} cannot use WAL (journal mode {rows[0][0]})")
            return

    async def _open(self) -> None:
        if self._writer is not None:
            return
        async with self._open_lock:
            if self._closed:
                raise DatabaseUnavailable("sqlite repository is closed")
            if self._writer is not None:
                return
            await asyncio.to_thread(self._path.parent.mkdir, parents=True, exist_ok=True)
            writer = await self._connect(writer=True)
            readers: list[aiosqlite.Connection] = []
            try:
                for _ in range(self._n_readers):
                    readers.append(await self._connect(writer=False))
            except BaseException:
                for conn in [writer, *readers]:
                    await conn.close()
                raise
            self._readers = readers
            self._writer = writer

    @contextlib.asynccontextmanager
    async def _guard(self, what: str, seconds: float | None = None) -> AsyncIterator[None]:
        """Bound the wait and turn driver/OS errors into DatabaseUnavailable."""
        try:
            async with asyncio.timeout(seconds or self._timeout):
                yield
        except TimeoutError as e:
            raise DatabaseUnavailable(f"sqlite {what}: timed out after {seconds or self._timeout}s") from e
        except sqlite3.IntegrityError:
            raise  # create() turns it into KeyError / ValueError
        except (sqlite3.Error, OSError) as e:
            raise DatabaseUnavailable(f"sqlite {what} at {self._path}: {e}") from e

    async def _read(self, what: str, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        async with self._guard(what):
            await self._open()
            conn = self._readers[next(self._next_reader)]
            return list(await conn.execute_fetchall(sql, params))

    async def _write(self, what: str, fn: Callable[[aiosqlite.Connection], Awaitable[T]],
                     seconds: float | None = None) -> T:
        async with self._guard(what, seconds):
            await self._open()
            async with self._write_lock:
                conn = self._writer
                assert conn is not None
                if self._abandoned:
                    with contextlib.suppress(sqlite3.OperationalError):  # "no transaction is active"
                        await conn.execute("ROLLBACK")
                    self._abandoned = False
                return await fn(conn)

    async def _rollback(self, conn: aiosqlite.Connection) -> None:
        """End a transaction abandoned by an error or a timeout, before the writer is used again.

        aiosqlite runs a connection's calls in FIFO order, so a ROLLBACK queued now runs after
        whatever statement is still executing and before any later write. If it cannot finish
        within ROLLBACK_WAIT_SECONDS, `_abandoned` stays set and the next write queues another.
        """
        self._abandoned = True
        try:
            await asyncio.wait_for(conn.execute("ROLLBACK"), ROLLBACK_WAIT_SECONDS)
        except TimeoutError:
            return
        except sqlite3.Error:
            pass  # "no transaction is active": BEGIN itself failed
        self._abandoned = False

    # --- schema --------------------------------------------------------------------------------

    async def migrate(self) -> None:
        async def run(conn: aiosqlite.Connection) -> None:
            # BEGIN IMMEDIATE takes the database write lock: concurrent migrators serialize here.
            await conn.execute("BEGIN IMMEDIATE")
            try:
                await self._migrate_in_transaction(conn)
                await conn.execute("COMMIT")
            except BaseException:
                await self._rollback(conn)
                raise

        await self._write("migrate", run, seconds=self._timeout * MIGRATE_TIMEOUT_FACTOR)

    async def _columns(self, conn: aiosqlite.Connection, table: str) -> list[str]:
        rows = await conn.execute_fetchall(f"PRAGMA table_info({schema.quote_ident(table)})")
        return [r["name"] for r in rows]

    async def _is_our_v1_table(self, conn: aiosqlite.Connection, existing: set[str]) -> bool:
        """A table an earlier artifact-proxy created in its own snake_case shape (never a product's)."""
        if not {"tsx_code", "project_id", "updated_at"} <= existing or self.columns.names["tsx_code"] in existing:
            return False
        if not await self._columns(conn, schema.VERSION_TABLE):
            return False
        rows = await conn.execute_fetchall(
            f"SELECT version FROM {schema.VERSION_TABLE} WHERE scene_table = ?", (self._table_name,))
        return [r["version"] for r in rows] == [1]

    async def _upgrade_v1(self, conn: aiosqlite.Connection) -> None:
        """Rename our v1 columns to the product's names and add the ones v1 lacked."""
        c = self.columns
        for old, key in schema.V1_RENAMES.items():
            await conn.execute(f"ALTER TABLE {self._table} RENAME COLUMN {old} TO "
                               f"{schema.quote_ident(c.names[key])}")
        for rid in [r["id"] for r in await conn.execute_fetchall(
                f"SELECT id FROM {self._table} WHERE {c.project_id} IS NULL")]:
            await conn.execute(f"UPDATE {self._table} SET {c.project_id} = ? WHERE id = ?", (_id(uuid.uuid4()), rid))
        for ddl in (f"{c.order} INTEGER NOT NULL DEFAULT 0", f"{c.duration} INTEGER NOT NULL DEFAULT 150",
                    f"{c.revision} INTEGER NOT NULL DEFAULT 1", f"{c.created_at} TEXT", f"{c.deleted_at} TEXT"):
            await conn.execute(f"ALTER TABLE {self._table} ADD COLUMN {ddl}")
        await conn.execute(f"UPDATE {self._table} SET {c.created_at} = COALESCE({c.updated_at}, ?)",
                           (schema.to_iso(schema.utc_now()),))

    async def _has_index_on_compiled_hash(self, conn: aiosqlite.Connection) -> bool:
        for idx in await conn.execute_fetchall(f"PRAGMA index_list({self._table})"):
            info = await conn.execute_fetchall(f"PRAGMA index_info({schema.quote_ident(idx['name'])})")
            first = sorted(info, key=lambda r: r["seqno"])[:1]
            if first and first[0]["name"] == "compiled_hash" and not idx["partial"]:
                return True
        return False

    async def _migrate_in_transaction(self, conn: aiosqlite.Connection) -> None:
        existing = await self._columns(conn, self._table_name)
        c = self.columns
        if not existing:
            compilation = ", ".join(f"{n} {t}" for n, t in schema.COMPILATION_COLUMNS_SQLITE.items())
            # the product's shape, as its PostgreSQL migrations make it (uuids and times as text)
            await conn.execute(
                f"CREATE TABLE {self._table} ("
                f"id TEXT PRIMARY KEY NOT NULL, {c.project_id} TEXT NOT NULL, "
                f"{c.order} INTEGER NOT NULL DEFAULT 0, {c.name} VARCHAR(255) NOT NULL DEFAULT 'Scene', "
                f"{c.tsx_code} TEXT NOT NULL, props TEXT, {c.duration} INTEGER NOT NULL DEFAULT 150, "
                f"{c.revision} INTEGER NOT NULL DEFAULT 1, {c.created_at} TEXT NOT NULL, "
                f"{c.updated_at} TEXT, {c.deleted_at} TEXT, {compilation})"
            )
            await conn.execute(
                f"CREATE INDEX {schema.quote_ident(schema.project_index_name(self._table_name))} "
                f"ON {self._table} ({c.project_id}, {c.order})"
            )
        else:
            if await self._is_our_v1_table(conn, set(existing)):
                await self._upgrade_v1(conn)
                existing = await self._columns(conn, self._table_name)
            missing = c.missing(set(existing))
            if "id" not in existing:
                missing = {"id": "id", **missing}
            if missing:
                raise SchemaMismatch(schema.schema_mismatch_message(self._table_name, missing))
            for column, sql_type in schema.COMPILATION_COLUMNS_SQLITE.items():
                if column not in existing:
                    await conn.execute(f"ALTER TABLE {self._table} ADD COLUMN {column} {sql_type}")
        if not await self._has_index_on_compiled_hash(conn):
            await conn.execute(
                f"CREATE INDEX IF NOT EXISTS {schema.quote_ident(schema.index_name(self._table_name))} "
                f"ON {self._table} (compiled_hash)"
            )
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {schema.FLAG_TABLE} ("
            "name TEXT PRIMARY KEY NOT NULL, "
            "rollout_percentage INTEGER NOT NULL CHECK (rollout_percentage BETWEEN 0 AND 100), "
            "updated_at TEXT NOT NULL)"
        )
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {schema.VERSION_TABLE} ("
            "scene_table TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL, migrated_at TEXT NOT NULL)"
        )
        await conn.execute(
            f"INSERT INTO {schema.VERSION_TABLE} (scene_table, version, migrated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (scene_table) DO UPDATE SET version = excluded.version, "
            "migrated_at = excluded.migrated_at WHERE version < excluded.version",
            (self._table_name, schema.SCHEMA_VERSION, schema.to_iso(schema.utc_now())),
        )

    # --- scenes --------------------------------------------------------------------------------

    async def get(self, scene_id: uuid.UUID) -> Scene | None:
        rows = await self._read("get", f"{self._select} WHERE id = ? AND {self.columns.live}", (_id(scene_id),))
        return schema.row_to_scene(rows[0]) if rows else None

    async def create(self, scene_id: uuid.UUID, tsx_code: str, name: str | None,
                     project_id: uuid.UUID, duration: int | None = None) -> Scene:
        schema.check_text(tsx_code=tsx_code, name=name)
        c = self.columns
        now = schema.to_iso(schema.utc_now())
        given = [(col, v) for col, v in ((c.name, name), (c.duration, duration)) if v is not None]
        columns = "".join(f", {col}" for col, _ in given)
        values = "".join(f", ?{5 + i}" for i in range(len(given)))
        sql = (
            f"INSERT INTO {self._table} (id, {c.tsx_code}, {c.project_id}, {c.order}, {c.created_at}, "
            f"{c.updated_at}{columns}) VALUES (?1, ?2, ?3, "
            f"(SELECT COALESCE(max({c.order}) + 1, 0) FROM {self._table} WHERE {c.project_id} = ?3), "
            f"?4, ?4{values}) {self._returning}"
        )
        params = (_id(scene_id), tsx_code, _id(project_id), now, *(v for _, v in given))

        async def run(conn: aiosqlite.Connection) -> Scene:
            rows = await conn.execute_fetchall(sql, params)
            return schema.row_to_scene(next(iter(rows)))

        try:
            return await self._write("create", run)
        except sqlite3.IntegrityError as e:
            if "UNIQUE" in str(e) or "PRIMARY KEY" in str(e):
                raise KeyError(scene_id) from None
            raise ValueError(f"scene {scene_id} violates a constraint: {e}") from None

    async def update_code(self, scene_id: uuid.UUID, tsx_code: str, name: str | None = None) -> Scene | None:
        schema.check_text(tsx_code=tsx_code, name=name)
        c = self.columns
        sql = (
            f"UPDATE {self._table} SET {c.tsx_code} = ?, {c.name} = COALESCE(?, {c.name}), {c.updated_at} = ?, "
            f"{c.revision} = {c.revision} + 1, compilation_error = NULL WHERE id = ? AND {c.live} {self._returning}"
        )
        params = (tsx_code, name, schema.to_iso(schema.utc_now()), _id(scene_id))

        async def run(conn: aiosqlite.Connection) -> Scene | None:
            rows = list(await conn.execute_fetchall(sql, params))
            return schema.row_to_scene(rows[0]) if rows else None

        return await self._write("update_code", run)

    async def record_compilation(self, scene_id: uuid.UUID, compiled_code: str, result: Compilation) -> bool:
        schema.check_compilation(result)
        schema.check_text(compiled_code=compiled_code, hash=result.hash, url=result.url)
        code = self.columns.tsx_code
        if result.hash is not None:
            sql = (
                f"UPDATE {self._table} SET compiled_hash = ?, compiled_url = ?, compiled_at = ?, "
                f"compilation_error = NULL WHERE id = ? AND {code} = ?"
            )
            params: tuple[Any, ...] = (
                result.hash, result.url, schema.to_iso(schema.utc_now()), _id(scene_id), compiled_code,
            )
        else:
            sql = f"UPDATE {self._table} SET compilation_error = ? WHERE id = ? AND {code} = ?"
            params = (schema.failure_message(result), _id(scene_id), compiled_code)

        async def run(conn: aiosqlite.Connection) -> bool:
            cursor = await conn.execute(sql, params)
            updated = cursor.rowcount
            await cursor.close()
            return updated > 0

        return await self._write("record_compilation", run)

    async def list_after(self, after: uuid.UUID | None, limit: int) -> list[Scene]:
        schema.check_limit(limit)
        live = self.columns.live
        if after is None:
            rows = await self._read("list_after", f"{self._select} WHERE {live} ORDER BY id LIMIT ?", (limit,))
        else:
            rows = await self._read(
                "list_after", f"{self._select} WHERE id > ? AND {live} ORDER BY id LIMIT ?", (_id(after), limit)
            )
        return [schema.row_to_scene(r) for r in rows]

    async def list_project(self, project_id: uuid.UUID, limit: int) -> list[Scene]:
        schema.check_limit(limit)
        c = self.columns
        rows = await self._read(
            "list_project",
            f"{self._select} WHERE {c.project_id} = ? AND {c.live} ORDER BY {c.project_order} LIMIT ?",
            (_id(project_id), limit))
        return [schema.row_to_scene(r) for r in rows]

    async def project_heads(self, project_id: uuid.UUID, limit: int, fingerprint: str) -> list[SceneHead]:
        schema.check_limit(limit)
        c = self.columns
        sql = (f"SELECT {c.head}, {schema.SQLITE_SOURCE_HASH}(?, {c.tsx_code}) AS code_hash FROM {self._table} "
               f"WHERE {c.project_id} = ? AND {c.live} ORDER BY {c.project_order} LIMIT ?")
        rows = await self._read("project_heads", sql, (fingerprint, _id(project_id), limit))
        return [schema.row_to_head(r) for r in rows]

    async def find_code_by_hash(self, compiled_hash: str) -> str | None:
        # a row with an error keeps its last good hash but not that hash's code: skip those
        c = self.columns
        rows = await self._read(
            "find_code_by_hash",
            f"SELECT {c.tsx_code} AS tsx_code FROM {self._table} WHERE compiled_hash = ? "
            f"AND compilation_error IS NULL AND {c.live} LIMIT 1",
            (compiled_hash,),
        )
        return str(rows[0]["tsx_code"]) if rows else None

    async def count(self) -> int:
        rows = await self._read("count", f"SELECT count(*) AS n FROM {self._table} WHERE {self.columns.live}")
        return int(rows[0]["n"])

    async def count_project(self, project_id: uuid.UUID) -> int:
        c = self.columns
        rows = await self._read("count_project", f"SELECT count(*) AS n FROM {self._table} "
                                f"WHERE {c.project_id} = ? AND {c.live}", (_id(project_id),))
        return int(rows[0]["n"])

    async def project_of(self, scene_id: uuid.UUID) -> uuid.UUID | None:
        rows = await self._read("project_of", f"SELECT {self.columns.project_id} AS p FROM {self._table} WHERE id = ?",
                                (_id(scene_id),))
        return schema.to_uuid(rows[0]["p"]) if rows else None

    async def changed_since(self, since: datetime) -> list[SceneChange]:
        c = self.columns
        rows = await self._read(
            "changed_since",
            f"SELECT id, {c.project_id} AS project_id FROM {self._table} "
            f"WHERE COALESCE({c.updated_at}, {c.created_at}) > ?1 OR {c.deleted_at} > ?1",
            (schema.to_iso(since),))
        return [schema.change_of(r["id"], r["project_id"]) for r in rows]

    # --- flags ---------------------------------------------------------------------------------

    async def get_flag(self, name: str) -> int | None:
        rows = await self._read(
            "get_flag", f"SELECT rollout_percentage FROM {schema.FLAG_TABLE} WHERE name = ?", (name,)
        )
        return int(rows[0]["rollout_percentage"]) if rows else None

    async def set_flag(self, name: str, rollout_percentage: int) -> None:
        schema.check_rollout(rollout_percentage)
        sql = (
            f"INSERT INTO {schema.FLAG_TABLE} (name, rollout_percentage, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET rollout_percentage = excluded.rollout_percentage, "
            "updated_at = excluded.updated_at"
        )
        params = (name, rollout_percentage, schema.to_iso(schema.utc_now()))

        async def run(conn: aiosqlite.Connection) -> None:
            await conn.execute(sql, params)

        await self._write("set_flag", run)

    # --- lifecycle -----------------------------------------------------------------------------

    async def ping(self) -> None:
        await self._read("ping", "SELECT 1")

    async def close(self) -> None:
        async with self._open_lock:
            self._closed = True
            conns = [c for c in [self._writer, *self._readers] if c is not None]
            self._writer, self._readers = None, []
        for conn in conns:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), timeout=self._timeout)
