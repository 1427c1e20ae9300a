"""Backend selection and what is specific to each backend (URL forms, SQLite pragmas, PG indexes)."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import pytest

from config.settings import Settings
from proxy.db import create_repository
from proxy.db.postgres import PostgresSceneRepository
from proxy.db.sqlite import SqliteSceneRepository, sqlite_path_from_url
from tests.fixtures_pg import PgDatabaseFactory
from tests.proxy.db import raw

TABLE = "bazaar-vid_scene"


@pytest.mark.parametrize(
    ("url", "cls"),
    [
        ("sqlite:///./data/proxy.sqlite3", SqliteSceneRepository),
        ("sqlite:////var/lib/proxy/db.sqlite3", SqliteSceneRepository),
        ("postgresql://user:pw@db.example.com:5432/app", PostgresSceneRepository),
        ("postgres://user@db.example.com/app", PostgresSceneRepository),
    ],
)
def test_create_repository_chooses_the_backend_by_url_scheme(url: str, cls: type) -> None:
    assert isinstance(create_repository(Settings(database_url=url)), cls)


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///./data/proxy.sqlite3", Path("data/proxy.sqlite3")),
        ("sqlite:///data/x.db", Path("data/x.db")),
        ("sqlite:////abs/path/x.db", Path("/abs/path/x.db")),
        ("sqlite:////abs/with%20space.db", Path("/abs/with space.db")),
    ],
)
def test_sqlite_urls_map_to_relative_and_absolute_paths(url: str, path: Path) -> None:
    assert sqlite_path_from_url(url) == path


@pytest.mark.parametrize("url", ["sqlite://host/x.db", "sqlite://", "sqlite:///:memory:"])
def test_unsupported_sqlite_urls_are_rejected(url: str) -> None:
    with pytest.raises(ValueError):
        sqlite_path_from_url(url)


async def test_sqlite_relative_url_creates_its_directory_under_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    repo = create_repository(Settings(database_url="sqlite:///./data/nested/proxy.sqlite3"))
    try:
        await repo.migrate()
        await repo.create(uuid.uuid4(), "code", None, uuid.uuid4())
        assert (tmp_path / "data" / "nested" / "proxy.sqlite3").is_file()
    finally:
        await repo.close()


async def test_sqlite_runs_in_wal_mode_with_uuid_text_and_utc_iso_timestamps(
    sqlite_settings: Settings,
) -> None:
    repo = create_repository(sqlite_settings)
    try:
        await repo.migrate()
        sid = uuid.uuid4()
        await repo.create(sid, "code", None, uuid.uuid4())
        assert (await raw.fetch(sqlite_settings, "PRAGMA journal_mode"))[0]["journal_mode"] == "wal"
        row = (await raw.fetch(sqlite_settings, f'SELECT id, "updatedAt" FROM "{TABLE}"'))[0]
        assert row["id"] == str(sid)
        assert row["updatedAt"].endswith("+00:00")
    finally:
        await repo.close()


async def test_postgres_reuses_an_index_the_product_already_has_on_compiled_hash(
    pg_settings: Settings,
) -> None:
    await raw.execute(
        pg_settings,
        f'CREATE TABLE "{TABLE}" (id uuid PRIMARY KEY, "tsxCode" text NOT NULL, name text, "projectId" uuid, '
        '"order" integer, duration integer, revision integer, "createdAt" timestamptz, "updatedAt" timestamptz, '
        "deleted_at timestamptz, compiled_hash varchar(16))",
        f'CREATE INDEX product_hash_idx ON "{TABLE}" (compiled_hash)',
    )
    repo = create_repository(pg_settings)
    try:
        await repo.migrate()
        assert await raw.indexes_on(pg_settings, TABLE, "compiled_hash") == ["product_hash_idx"]
    finally:
        await repo.close()


async def test_postgres_rebuilds_an_invalid_index_left_by_an_interrupted_build(pg_settings: Settings) -> None:
    repo = create_repository(pg_settings)
    try:
        await repo.migrate()
        conn = await asyncpg.connect(pg_settings.database_url)
        try:  # mark our index invalid, as a failed CREATE INDEX CONCURRENTLY leaves it
            await conn.execute(
                "UPDATE pg_index SET indisvalid = false WHERE indexrelid = "
                f"'\"{TABLE}_compiled_hash_idx\"'::regclass"
            )
        finally:
            await conn.close()
        await repo.migrate()
        rows = await raw.fetch(
            pg_settings,
            "SELECT x.indexrelid::regclass::text AS name, x.indisvalid AS valid FROM pg_index x "
            f"WHERE x.indrelid = '\"{TABLE}\"'::regclass AND x.indexrelid <> '\"{TABLE}_pkey\"'::regclass",
        )
        # rebuilt in place (one compiled_hash index, valid), the project_id index untouched
        assert {r["name"]: r["valid"] for r in rows} == {
            f'"{TABLE}_compiled_hash_idx"': True, f'"{TABLE}_project_id_idx"': True,
        }
        assert len(rows) == 2
    finally:
        await repo.close()


def test_pg_dsn_factory_makes_distinct_databases_and_drops_them(pg_dsn_factory: PgDatabaseFactory) -> None:
    import asyncio

    first, second = pg_dsn_factory.create(), pg_dsn_factory.create()
    assert first != second

    async def exists(dsn: str) -> bool:
        conn = await asyncpg.connect(pg_dsn_factory.admin_dsn)
        try:
            name = dsn.rsplit("/", 1)[1]
            return bool(await conn.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1", name))
        finally:
            await conn.close()

    assert asyncio.run(exists(first)) and asyncio.run(exists(second))
    pg_dsn_factory.drop(first)
    pg_dsn_factory.drop(second)
    assert not asyncio.run(exists(first)) and not asyncio.run(exists(second))
