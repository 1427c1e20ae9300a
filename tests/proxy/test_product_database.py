"""The proxy on the product's real scene table (tests/fixtures/product_schema), as the product uses it:
rows the product writes itself are served within a second on every node, soft deletes remove scenes,
project modules follow "order", and all of it also through a transaction-mode PgBouncer."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from config import Settings
from proxy.app import build_context
from proxy.context import AppContext
from proxy.db.postgres import endpoint_of
from proxy.errors import SceneNotFound
from tests.fixtures_server import ROOT, TOKEN, ServerProcess, server_env
from tests.proxy.db import raw

AUTH = {"Authorization": f"Bearer {TOKEN}"}
TABLE = "bazaar-vid_scene"
SCENE = "import {{AbsoluteFill}} from 'remotion';\nexport default () => <AbsoluteFill><h1>{text}</h1></AbsoluteFill>;\n"
SEEN_WITHIN = 1.0  # seconds: the bound for a product write to reach every node


@dataclass
class Product:
    """The product's side: its own database connection, writing rows the way its tools do."""

    dsn: str
    project_id: uuid.UUID

    async def sql(self, statement: str, *args: object) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            await conn.execute(statement, *args)
        finally:
            await conn.close()

    async def edit(self, scene_id: uuid.UUID, code: str) -> None:
        await self.sql(f'UPDATE "{TABLE}" SET "tsxCode" = $2, "updatedAt" = now(), revision = revision + 1 '
                       "WHERE id = $1", scene_id, code)

    async def add(self, code: str, order: int) -> uuid.UUID:
        scene_id = uuid.uuid4()
        await self.sql(f'INSERT INTO "{TABLE}" (id, "projectId", "order", "tsxCode") VALUES ($1, $2, $3, $4)',
                       scene_id, self.project_id, order, code)
        return scene_id


async def until(check: Callable[[], Awaitable[bool]], seconds: float) -> float:
    """Poll `check` until it holds; the time it took. Fails after `seconds`."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > seconds:
            pytest.fail(f"not within {seconds:.1f} s")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def location(http: aiohttp.ClientSession, node: ServerProcess, scene_id: uuid.UUID) -> str | int:
    async with http.get(f"{node.base}/api/components/{scene_id}", allow_redirects=False) as r:
        return r.headers["Location"] if r.status == 302 else r.status


@pytest.fixture
async def product(pg_settings: Settings) -> Product:
    await raw.execute(pg_settings, *raw.product_ddl("postgres"))
    project_id = uuid.uuid4()
    await raw.execute(pg_settings, f"INSERT INTO \"bazaar-vid_project\" (id) VALUES ('{project_id}')")
    return Product(pg_settings.database_url, project_id)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


@pytest.fixture(params=["direct", "pgbouncer"])
def node_settings(request: pytest.FixtureRequest, product: Product, tmp_path: Path) -> dict[str, str]:
    """What every node shares; "pgbouncer": the pooled URL for queries, the direct one for LISTEN."""
    shared = {"storage_url": f"file://{tmp_path}/artifacts", "database_url": product.dsn}
    if request.param == "pgbouncer":
        bouncer = request.getfixturevalue("pgbouncer")
        shared.update(database_url=bouncer.pooled(product.dsn), database_direct_url=product.dsn)
    return shared


async def test_a_product_edit_made_in_sql_is_served_by_both_nodes_within_a_second(
    spawn_server, node_settings: dict[str, str], product: Product, http: aiohttp.ClientSession,
) -> None:
    nodes = [spawn_server(**node_settings), spawn_server(workers=2, **node_settings)]
    scene_id = await product.add(SCENE.format(text="first"), order=0)
    before = [await location(http, node, scene_id) for node in nodes]
    assert isinstance(before[0], str) and before[0] == before[1]

    await product.edit(scene_id, SCENE.format(text="second"))

    for node in nodes:
        await until(lambda node=node: _changed(http, node, scene_id, before[0]), SEEN_WITHIN)
    after = {await location(http, node, scene_id) for node in nodes}
    assert len(after) == 1 and before[0] not in after
    async with http.get(f"{nodes[0].base}{next(iter(after))}") as r:
        assert "second" in await r.text()
    # the edit was compiled ahead of the view: metadata says ready without anyone asking for the module
    async with http.get(f"{nodes[1].base}/api/components/{scene_id}/metadata") as r:
        assert (await r.json())["status"] == "ready"


async def _changed(http: aiohttp.ClientSession, node: ServerProcess, scene_id: uuid.UUID, old: str) -> bool:
    now = await location(http, node, scene_id)
    return isinstance(now, str) and now != old


async def test_a_soft_deleted_scene_is_gone_from_both_nodes_and_its_project_within_a_second(
    spawn_server, node_settings: dict[str, str], product: Product, http: aiohttp.ClientSession,
) -> None:
    nodes = [spawn_server(**node_settings), spawn_server(**node_settings)]
    kept = await product.add(SCENE.format(text="kept"), order=0)
    gone = await product.add(SCENE.format(text="gone"), order=1)
    project_url = f"/api/projects/{product.project_id}/components"
    for node in nodes:
        assert isinstance(await location(http, node, gone), str)
        async with http.get(node.base + project_url) as r:
            assert r.status == 200 and str(gone) in await r.text()

    await product.sql(f'UPDATE "{TABLE}" SET deleted_at = now() WHERE id = $1', gone)

    async def removed(node: ServerProcess) -> bool:
        async with http.get(node.base + project_url) as r:
            body = await r.text()
        return await location(http, node, gone) == 404 and str(gone) not in body and str(kept) in body

    for node in nodes:
        await until(lambda node=node: removed(node), SEEN_WITHIN)
    async with http.get(f"{nodes[0].base}/api/components/{gone}/metadata") as r:
        assert r.status == 404


async def test_the_project_module_follows_the_products_order_and_sees_a_reorder_within_a_second(
    spawn_server, node_settings: dict[str, str], product: Product, http: aiohttp.ClientSession,
) -> None:
    node = spawn_server(**node_settings)
    ids = [await product.add(SCENE.format(text=f"scene {n}"), order=n) for n in (2, 0, 1)]
    project_url = f"{node.base}/api/projects/{product.project_id}/components"

    async def order_in_module() -> list[uuid.UUID]:
        async with http.get(project_url) as r:
            assert r.status == 200
            body = await r.text()
        return sorted(ids, key=lambda i: body.index(str(i)))

    assert await order_in_module() == [ids[1], ids[2], ids[0]]  # "order" 0, 1, 2
    await product.sql(f'UPDATE "{TABLE}" SET "order" = 5 WHERE id = $1', ids[1])
    await until(lambda: _order_is(order_in_module, [ids[2], ids[0], ids[1]]), SEEN_WITHIN)


async def _order_is(read: Callable[[], Awaitable[list[uuid.UUID]]], expected: list[uuid.UUID]) -> bool:
    return await read() == expected


async def test_an_edit_made_while_the_listener_was_cut_off_is_served_after_it_reconnects(
    spawn_server, product: Product, http: aiohttp.ClientSession, tmp_path: Path,
) -> None:
    node = spawn_server(database_url=product.dsn, storage_url=f"file://{tmp_path}/artifacts",
                        listen_reconnect_seconds="0.5")
    scene_id = await product.add(SCENE.format(text="first"), order=0)
    old = await location(http, node, scene_id)
    assert isinstance(old, str)

    # cut the listener off and edit before it is back: that NOTIFY is lost for good
    await product.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE application_name = 'artifact-proxy-listen' AND datname = current_database()")
    await product.edit(scene_id, SCENE.format(text="edited while away"))

    took = await until(lambda: _changed(http, node, scene_id, old), 5.0)  # reconnect + re-read, not the TTL
    assert took < 5.0


async def test_without_a_trigger_post_changed_makes_an_edit_visible_at_once(
    spawn_server, tmp_path: Path, http: aiohttp.ClientSession,
) -> None:
    db = tmp_path / "proxy.sqlite3"
    node = spawn_server(database_url=f"sqlite:///{db}", storage_url=f"file://{tmp_path}/artifacts")
    async with http.post(f"{node.base}/api/scenes", headers=AUTH,
                         json={"tsxCode": SCENE.format(text="first")}) as r:
        assert r.status == 201
        scene_id = uuid.UUID((await r.json())["id"])
    old = await location(http, node, scene_id)
    with sqlite3.connect(db) as conn:  # the product writes the row itself
        conn.execute(f'UPDATE "{TABLE}" SET "tsxCode" = ? WHERE id = ?', (SCENE.format(text="second"), str(scene_id)))
    assert await location(http, node, scene_id) == old  # unseen: no trigger on SQLite, the TTL is 60 s

    async with http.post(f"{node.base}/api/scenes/{scene_id}/changed") as r:
        assert r.status == 401  # a write endpoint: the admin token is required
    async with http.post(f"{node.base}/api/scenes/{scene_id}/changed", headers=AUTH) as r:
        assert r.status == 202

    new = await location(http, node, scene_id)
    assert isinstance(new, str) and new != old
    async with http.get(node.base + new) as r:
        assert "second" in await r.text()


async def test_a_table_that_is_not_a_scene_table_stops_migrate_with_one_line(pg_settings: Settings) -> None:
    await raw.execute(pg_settings, f'CREATE TABLE "{TABLE}" (id uuid PRIMARY KEY, code text)')
    env = server_env(database_url=pg_settings.database_url)
    result = subprocess.run([sys.executable, "-m", "proxy", "migrate"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "'tsxCode' (tsx_code)" in lines[0] and "'projectId' (project_id)" in lines[0]
    assert "PROXY_SCENE_COLUMNS" in lines[0]
    # mapped to the table's own names, the same table passes the column check
    mapped = subprocess.run([sys.executable, "-m", "proxy", "migrate"], cwd=ROOT, capture_output=True, text=True,
                            env={**env, "PROXY_SCENE_COLUMNS": '{"tsx_code": "code"}'}, timeout=60)
    assert "'code'" not in mapped.stderr and "'tsxCode'" not in mapped.stderr


@pytest.mark.parametrize(("url", "pooler", "pooled"), [
    ("postgresql://u@db.example.com/app", "auto", False),
    ("postgresql://u@db.example.com/app?pgbouncer=true", "auto", True),
    ("postgresql://u@ep-cool-42-pooler.us-east-2.aws.neon.tech/app?sslmode=require", "auto", True),
    ("postgresql://u@db.example.com:6432/app", "transaction", True),
    ("postgresql://u@x-pooler.example.com/app", "none", False),
])
def test_a_transaction_pooler_is_recognised_and_the_flag_never_reaches_the_server(
    url: str, pooler: str, pooled: bool,
) -> None:
    endpoint = endpoint_of(url, pooler)
    assert endpoint.pooled is pooled
    assert "pgbouncer" not in endpoint.dsn
    assert ("sslmode=require" in endpoint.dsn) == ("sslmode=require" in url)


def test_serve_logs_which_pooler_mode_it_chose(product: Product, pgbouncer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = {**server_env(database_url=pgbouncer.pooled(product.dsn), log_level="INFO"),
           "PROXY_STORAGE_URL": f"file://{tmp_path}/artifacts"}
    env.pop("PROXY_DATABASE_DIRECT_URL", None)
    result = subprocess.run([sys.executable, "-m", "proxy", "migrate"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    logged = result.stdout + result.stderr
    assert "transaction pooler (statement cache off): the URL says pgbouncer=true" in logged
    assert "set PROXY_DATABASE_DIRECT_URL" in logged


@pytest.fixture
async def clustered(product: Product, tmp_path: Path, redis_url: str, redis_prefix: str) -> AsyncIterator[AppContext]:
    """One node's parts, in process, on the product's table with Redis (L2 mappings, pub/sub)."""
    c = build_context(Settings(database_url=product.dsn, storage_url=f"file://{tmp_path}/artifacts",
                               redis_url=redis_url, redis_key_prefix=redis_prefix, compile_workers=1))
    await c.repo.migrate()
    await c.compiler.start()
    try:
        yield c
    finally:
        await c.compiler.close()
        if c.cluster is not None:
            await c.cluster.close()
        await c.store.close()
        await c.repo.close()


async def test_a_scene_deleted_while_it_compiles_leaves_no_mapping_anywhere(
    clustered: AppContext, product: Product,
) -> None:
    c = clustered
    scene_id = await product.add(SCENE.format(text="deleted mid-compile"), order=0)
    scene = await c.repo.get(scene_id)
    assert scene is not None
    record = c.repo.record_compilation

    async def record_then_product_deletes(*args: Any) -> bool:
        recorded = await record(*args)
        await product.sql(f'UPDATE "{TABLE}" SET deleted_at = now() WHERE id = $1', scene_id)
        return recorded

    c.repo.record_compilation = record_then_product_deletes  # type: ignore[method-assign]
    with pytest.raises(SceneNotFound):
        await c.service.compile_scene(scene)
    assert await c.cluster.get_mapping(str(scene_id)) is None  # type: ignore[union-attr]
    with pytest.raises(SceneNotFound):
        await c.service.resolve(scene_id)


async def test_a_scene_deleted_right_after_an_edit_stays_deleted_on_every_node(
    spawn_server, product: Product, http: aiohttp.ClientSession, tmp_path: Path, redis_url: str,
    redis_prefix: str,
) -> None:
    # With Redis, a compile started by the edit must not put the deleted scene's mapping back in L2
    shared = {"database_url": product.dsn, "storage_url": f"file://{tmp_path}/artifacts", "redis_url": redis_url,
              "redis_key_prefix": redis_prefix}
    nodes = [spawn_server(workers=2, **shared), spawn_server(workers=2, **shared)]
    for n in range(6):
        sid = await product.add(SCENE.format(text=f"round {n}"), order=n)
        old = [await location(http, node, sid) for node in nodes]
        await product.edit(sid, SCENE.format(text=f"round {n} edited"))
        for node in nodes:
            await until(lambda node=node, sid=sid, was=str(old[0]): _changed(http, node, sid, was), SEEN_WITHIN)
        await product.sql(f'UPDATE "{TABLE}" SET deleted_at = now() WHERE id = $1', sid)
        for node in nodes:
            await until(lambda node=node, sid=sid: _is_gone(http, node, sid), SEEN_WITHIN)
        await asyncio.sleep(0.3)  # any compile still running meanwhile has finished by now
        assert [await location(http, node, sid) for node in nodes] == [404, 404]


async def _is_gone(http: aiohttp.ClientSession, node: ServerProcess, scene_id: uuid.UUID) -> bool:
    return await location(http, node, scene_id) == 404
