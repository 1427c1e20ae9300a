"""migrate() on both backends: fresh database, the product's existing table, repeats, concurrency."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from config.settings import Settings
from proxy.db import Compilation, DatabaseUnavailable, SchemaMismatch, create_repository
from tests.proxy.db import raw

TABLE = "bazaar-vid_scene"
ADDED = {"compiled_url", "compiled_hash", "compiled_at"}  # compilation_error is the product's already
COMPILATION = {*ADDED, "compilation_error"}
PRODUCT_ROW_ID = uuid.UUID("0b6f1c9e-6a0b-4d1e-9a57-3f1f6c2b8e11")
PROJECT_ID = uuid.UUID("5d0c4a8e-2b7f-4c39-8d6e-1a2b3c4d5e6f")
# What we read, by the product's names; the rest of its columns are never touched.
READ = {"id", "tsxCode", "projectId", "order", "name", "duration", "revision", "createdAt", "updatedAt",
        "deleted_at", *COMPILATION}


PRODUCT_ROWS = [
    f"INSERT INTO \"bazaar-vid_project\" (id) VALUES ('{PROJECT_ID}')",
    f"INSERT INTO \"{TABLE}\" (id, \"projectId\", \"order\", name, \"tsxCode\", props, \"updatedAt\") VALUES "
    f"('{PRODUCT_ROW_ID}', '{PROJECT_ID}', 3, 'Product scene', 'export default () => null;', "
    "'{\"a\": 1}', '2024-05-01T12:00:00+00:00')",
]


async def _create_product_table(settings: Settings, backend: str) -> dict[str, str]:
    backend = "sqlite" if backend == "sqlite" else "postgres"  # "pgbouncer" is PostgreSQL behind a pooler
    rows = PRODUCT_ROWS if backend == "postgres" else PRODUCT_ROWS[1:]  # SQLite has no project table
    await raw.execute(settings, *raw.product_ddl(backend), *rows)
    return await raw.columns(settings, TABLE)


async def test_migrate_creates_the_scene_flag_and_version_tables(db_settings: Settings) -> None:
    repo = create_repository(db_settings)
    try:
        await repo.migrate()
        cols = await raw.columns(db_settings, TABLE)
        assert set(cols) == READ | {"props"}  # the product's shape, by its names
        if raw.is_postgres(db_settings):
            assert cols["id"] == "uuid" and cols["projectId"] == "uuid"
            assert cols["compiled_hash"] == "character varying(16)"
            assert cols["compiled_at"] == cols["updatedAt"] == cols["deleted_at"] == "timestamp with time zone"
        assert await raw.indexes_on(db_settings, TABLE, "compiled_hash") == [f"{TABLE}_compiled_hash_idx"]
        assert await raw.indexes_on(db_settings, TABLE, "projectId") == [f"{TABLE}_project_id_idx"]
        assert set(await raw.columns(db_settings, "artifact_proxy_flag")) == {
            "name", "rollout_percentage", "updated_at",
        }
        versions = await raw.fetch(db_settings, "SELECT scene_table, version FROM artifact_proxy_schema")
        assert versions == [{"scene_table": TABLE, "version": 2}]
    finally:
        await repo.close()


async def test_migrate_is_idempotent_and_keeps_data(db_settings: Settings) -> None:
    repo = create_repository(db_settings)
    try:
        await repo.migrate()
        sid = uuid.uuid4()
        await repo.create(sid, "code", "n", uuid.uuid4())
        await repo.record_compilation(sid, "code", Compilation(hash="0123456789abcdef", url="/u", error=None))
        await repo.set_flag("f", 40)
        before = await repo.get(sid)
        cols = await raw.columns(db_settings, TABLE)

        await repo.migrate()
        await repo.migrate()

        assert await raw.columns(db_settings, TABLE) == cols
        assert len(await raw.indexes_on(db_settings, TABLE, "compiled_hash")) == 1
        assert await repo.get(sid) == before
        assert await repo.get_flag("f") == 40
    finally:
        await repo.close()


async def test_migrate_an_existing_product_table_adds_only_the_missing_columns(
    db_settings: Settings, db_backend: str
) -> None:
    product_cols = await _create_product_table(db_settings, db_backend)
    repo = create_repository(db_settings)
    try:
        await repo.migrate()

        cols = await raw.columns(db_settings, TABLE)
        assert set(cols) == set(product_cols) | ADDED  # its compilation_error is reused, not duplicated
        assert {c: cols[c] for c in product_cols} == product_cols  # product columns untouched
        assert list(cols)[: len(product_cols)] == list(product_cols)
        assert len(await raw.indexes_on(db_settings, TABLE, "compiled_hash")) == 1

        scene = await repo.get(PRODUCT_ROW_ID)
        assert scene is not None
        assert (scene.name, scene.project_id, scene.tsx_code) == (
            "Product scene", PROJECT_ID, "export default () => null;",
        )
        assert scene.updated_at is not None and scene.updated_at.isoformat() == "2024-05-01T12:00:00+00:00"
        assert (scene.compiled_hash, scene.compiled_url, scene.compiled_at, scene.compilation_error) == (
            None, None, None, None,
        )
        rows = await raw.fetch(db_settings, f'SELECT "order", props, "createdAt" FROM "{TABLE}"')
        assert len(rows) == 1 and rows[0]["order"] == 3 and rows[0]["createdAt"] is not None
        assert scene.order == 3 and scene.duration == 150

        # and it is fully usable: our writes go to our columns, the product's defaults fill the rest
        assert await repo.record_compilation(
            PRODUCT_ROW_ID, "export default () => null;", Compilation("fedcba9876543210", "/x.js", None)
        )
        sid = uuid.uuid4()
        await repo.create(sid, "code", None, PROJECT_ID)
        assert await repo.count() == 2
        created = await repo.get(sid)
        assert created is not None and (created.name, created.order, created.duration) == ("Scene", 4, 150)

        await repo.migrate()
        assert await raw.columns(db_settings, TABLE) == cols
    finally:
        await repo.close()


async def test_migrate_a_partly_upgraded_table_adds_the_rest(db_settings: Settings, db_backend: str) -> None:
    await _create_product_table(db_settings, db_backend)
    await raw.execute(db_settings, f'ALTER TABLE "{TABLE}" ADD COLUMN compiled_url text',
                      f'ALTER TABLE "{TABLE}" DROP COLUMN compilation_error')
    repo = create_repository(db_settings)
    try:
        await repo.migrate()
        assert COMPILATION <= set(await raw.columns(db_settings, TABLE))
        got = await repo.get(PRODUCT_ROW_ID)
        assert got is not None and got.compiled_url is None
    finally:
        await repo.close()


async def test_migrate_refuses_a_same_named_table_that_is_not_a_scene_table(db_settings: Settings) -> None:
    await raw.execute(db_settings, f'CREATE TABLE "{TABLE}" (other text)')
    repo = create_repository(db_settings)
    try:
        with pytest.raises(SchemaMismatch, match=r"lacks the scene columns 'id' \(id\), 'tsxCode' \(tsx_code\).*"
                                               r"PROXY_SCENE_COLUMNS"):
            await repo.migrate()
        assert set(await raw.columns(db_settings, TABLE)) == {"other"}
        # the failed migration left no transaction (or lock) behind: others can write, and so can we
        await raw.execute(db_settings, f"INSERT INTO \"{TABLE}\" (other) VALUES ('x')")
        with pytest.raises(DatabaseUnavailable, match=r"no such table|does not exist"):
            await repo.set_flag("f", 1)  # rolled back with the rest: answered at once, not stuck
    finally:
        await repo.close()


async def test_many_processes_migrating_at_once_do_not_race(db_settings: Settings) -> None:
    repos = [create_repository(db_settings) for _ in range(6)]
    try:
        await asyncio.gather(*(r.migrate() for r in repos))
        await repos[0].create(uuid.uuid4(), "code", None, uuid.uuid4())
        assert await repos[-1].count() == 1
        assert len(await raw.indexes_on(db_settings, TABLE, "compiled_hash")) == 1
    finally:
        await asyncio.gather(*(r.close() for r in repos))


async def test_many_processes_upgrading_the_product_table_at_once_do_not_race(
    db_settings: Settings, db_backend: str
) -> None:
    await _create_product_table(db_settings, db_backend)
    repos = [create_repository(db_settings) for _ in range(6)]
    try:
        await asyncio.wait_for(asyncio.gather(*(r.migrate() for r in repos)), 20)
        assert COMPILATION <= set(await raw.columns(db_settings, TABLE))
        assert len(await raw.indexes_on(db_settings, TABLE, "compiled_hash")) == 1
        assert await repos[0].get(PRODUCT_ROW_ID) is not None
    finally:
        await asyncio.gather(*(r.close() for r in repos))


async def test_a_configured_table_name_is_used(db_settings: Settings) -> None:
    settings = db_settings.model_copy(update={"scene_table": "Other-Scenes_2"})
    repo = create_repository(settings)
    try:
        await repo.migrate()
        sid = uuid.uuid4()
        await repo.create(sid, "code", None, uuid.uuid4())
        assert [r["id"] for r in await raw.fetch(settings, 'SELECT id FROM "Other-Scenes_2"')] in (
            [sid], [str(sid)],
        )
        assert await raw.columns(settings, TABLE) == {}
    finally:
        await repo.close()


@pytest.mark.parametrize("url", ["sqlite:////tmp/never-opened.sqlite3", "postgresql://u@127.0.0.1:1/db"])
@pytest.mark.parametrize("name", ['scene"; DROP TABLE x; --', "a.b", "", "sp ace", "x" * 64])
def test_unsafe_table_names_are_rejected(url: str, name: str) -> None:
    with pytest.raises(ValueError, match="scene table name"):
        create_repository(Settings(database_url=url, scene_table=name))


V1_DDL = {  # the table an earlier artifact-proxy created for itself (schema version 1)
    "postgres": f'CREATE TABLE "{TABLE}" (id uuid PRIMARY KEY, tsx_code text NOT NULL, name text, project_id uuid, '
                "updated_at timestamptz DEFAULT now(), compiled_url text, compiled_hash varchar(16), "
                "compiled_at timestamptz, compilation_error text)",
    "sqlite": f'CREATE TABLE "{TABLE}" (id TEXT PRIMARY KEY NOT NULL, tsx_code TEXT NOT NULL, name TEXT, '
              "project_id TEXT, updated_at TEXT, compiled_url TEXT, compiled_hash VARCHAR(16), compiled_at TEXT, "
              "compilation_error TEXT)",
}


async def test_an_embedded_table_from_the_snake_case_version_is_renamed_in_place(
    db_settings: Settings, db_backend: str,
) -> None:
    dialect = "sqlite" if db_backend == "sqlite" else "postgres"
    await raw.execute(
        db_settings, V1_DDL[dialect],
        "CREATE TABLE artifact_proxy_schema (scene_table text PRIMARY KEY, version integer NOT NULL, migrated_at "
        + ("timestamptz NOT NULL DEFAULT now())" if dialect == "postgres" else "TEXT NOT NULL)"),
        f"INSERT INTO artifact_proxy_schema VALUES ('{TABLE}', 1, '2026-01-01')",
        f"INSERT INTO \"{TABLE}\" (id, tsx_code, name, updated_at, compiled_hash) VALUES "
        f"('{PRODUCT_ROW_ID}', 'old code', 'kept', '2026-01-02T00:00:00+00:00', 'aaaaaaaaaaaaaaaa')",
    )
    repo = create_repository(db_settings)
    try:
        await repo.migrate()
        assert READ <= set(await raw.columns(db_settings, TABLE))
        scene = await repo.get(PRODUCT_ROW_ID)
        assert scene is not None and (scene.tsx_code, scene.name, scene.compiled_hash) == (
            "old code", "kept", "aaaaaaaaaaaaaaaa")
        assert scene.project_id is not None  # every scene has a project now: a new one of its own
        await repo.migrate()  # and the next start finds nothing to do
        versions = await raw.fetch(db_settings, "SELECT version FROM artifact_proxy_schema")
        assert versions == [{"version": 2}]
    finally:
        await repo.close()


async def test_a_product_table_with_snake_case_columns_is_never_renamed(db_settings: Settings) -> None:
    # same columns as our v1 table, but no version row of ours: the product's, not ours to rename
    dialect = "postgres" if raw.is_postgres(db_settings) else "sqlite"
    await raw.execute(db_settings, V1_DDL[dialect])
    repo = create_repository(db_settings)
    try:
        with pytest.raises(SchemaMismatch, match="tsxCode"):
            await repo.migrate()
        assert "tsx_code" in await raw.columns(db_settings, TABLE)
    finally:
        await repo.close()
