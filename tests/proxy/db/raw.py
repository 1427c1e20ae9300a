"""Raw SQL on either backend, bypassing the repository (to build product-shaped tables, inspect schema)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiosqlite
import asyncpg

from config.settings import Settings
from proxy.db.sqlite import sqlite_path_from_url
from tests.paths import FIXTURES


def is_postgres(settings: Settings) -> bool:
    return settings.database_url.startswith(("postgresql:", "postgres:"))


SCHEMAS = FIXTURES / "product_schema"


def product_ddl(backend: str) -> list[str]:
    """The product's own tables (tests/fixtures/product_schema/<backend>.sql), one statement each."""
    text = (SCHEMAS / f"{backend}.sql").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    return [sql.strip() for sql in "\n".join(lines).split(";") if sql.strip()]


def now_sql(settings: Settings) -> str:
    """The current time as an SQL literal of the backend's timestamp column (SQLite: ISO text)."""
    if is_postgres(settings):
        return "now()"
    return "'" + datetime.now(UTC).isoformat(timespec="microseconds") + "'"


async def execute(settings: Settings, *statements: str) -> None:
    """Run statements (no parameters) in order, each committed."""
    if is_postgres(settings):
        conn = await asyncpg.connect(settings.database_direct_url or settings.database_url)
        try:
            for sql in statements:
                await conn.execute(sql)
        finally:
            await conn.close()
        return
    path = sqlite_path_from_url(settings.database_url)
    path.parent.mkdir(parents=True, exist_ok=True)
    async with aiosqlite.connect(path, isolation_level=None) as db:
        for sql in statements:
            await db.execute(sql)


async def fetch(settings: Settings, sql: str) -> list[dict[str, Any]]:
    if is_postgres(settings):
        conn = await asyncpg.connect(settings.database_direct_url or settings.database_url)
        try:
            return [dict(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()
    async with aiosqlite.connect(sqlite_path_from_url(settings.database_url)) as db:
        db.row_factory = aiosqlite.Row
        return [dict(r) for r in await db.execute_fetchall(sql)]


async def columns(settings: Settings, table: str) -> dict[str, str]:
    """Column name -> declared type (lower case; varchar length included)."""
    if is_postgres(settings):
        rows = await fetch(
            settings,
            "SELECT column_name AS name, data_type AS type, character_maximum_length AS len "
            f"FROM information_schema.columns WHERE table_name = '{table}' ORDER BY ordinal_position",
        )
        return {r["name"]: r["type"] + (f"({r['len']})" if r["len"] else "") for r in rows}
    rows = await fetch(settings, f"PRAGMA table_info(\"{table}\")")
    return {r["name"]: str(r["type"]).lower() for r in rows}


async def indexes_on(settings: Settings, table: str, column: str) -> list[str]:
    """Names of indexes whose first column is `column`."""
    if is_postgres(settings):
        rows = await fetch(
            settings,
            "SELECT i.relname AS name FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0] "
            f"WHERE x.indrelid = to_regclass('\"{table}\"') AND a.attname = '{column}'",
        )
        return sorted(r["name"] for r in rows)
    names = []
    for idx in await fetch(settings, f"PRAGMA index_list(\"{table}\")"):
        info = await fetch(settings, f"PRAGMA index_info(\"{idx['name']}\")")
        if info and sorted(info, key=lambda r: r["seqno"])[0]["name"] == column:
            names.append(idx["name"])
    return sorted(names)
