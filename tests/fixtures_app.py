"""An app context on either backend with one shared compiler pool (backfill, flags and metrics
tests), and the metrics exposition of real traffic (alert rules, dashboard)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from config import Settings
from proxy.app import build_context, create_app
from proxy.compiler.pool import CompilerPool
from proxy.context import AppContext
from tests.fixtures_backends import AUTH, embedded

ROOT = Path(__file__).resolve().parents[1]

BROKEN_SYNTAX = "export default function X() { return <div>; }\n"
BROKEN_IMPORT = "import thing from 'left-pad';\nexport default function X() { return <div>{thing}</div>; }\n"


def scene(n: object) -> str:
    """A small valid scene whose code (and so hash) differs with `n`."""
    return (f"import {{ AbsoluteFill, useCurrentFrame }} from 'remotion';\n"
            f"export default function Scene() {{\n"
            f"  const f = useCurrentFrame();\n"
            f"  return <AbsoluteFill><h1 style={{{{ opacity: f / 30 }}}}>scene {n}</h1></AbsoluteFill>;\n"
            f"}}\n")






@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_pool() -> AsyncIterator[CompilerPool]:
    """One Node worker for a whole module (starting one per test costs more than the tests).
    Modules using it run their tests on the module's event loop."""
    pool = CompilerPool(Settings(compile_workers=1))
    await pool.start()
    try:
        yield pool
    finally:
        await pool.close()


@pytest_asyncio.fixture(loop_scope="module")
async def ops_ctx(backend_settings: Settings, shared_pool: CompilerPool) -> AsyncIterator[AppContext]:
    """Everything the backfill command builds (on the module's compiler pool); closed after the test."""
    c = build_context(backend_settings)
    c.compiler = c.service.compiler = shared_pool
    await c.repo.migrate()
    try:
        yield c
    finally:
        await c.store.close()
        await c.repo.close()


async def add_scenes(c: AppContext, codes: list[str]) -> list[uuid.UUID]:
    ids = []
    for code in codes:
        scene_id = uuid.uuid4()
        await c.repo.create(scene_id, code, None, uuid.uuid4())
        ids.append(scene_id)
    return ids


GOOD = scene("metrics")
BROKEN = BROKEN_SYNTAX


async def _traffic(tmp: Path) -> str:
    """Some of every kind of traffic through one in-process server; returns its /metrics text."""
    from aiohttp.test_utils import TestClient, TestServer

    from proxy.context import CTX

    app = create_app(embedded(tmp))
    async with TestClient(TestServer(app)) as client:
        c = app[CTX]
        r = await client.post("/api/scenes", json={"tsxCode": GOOD}, headers=AUTH)
        assert r.status == 201, await r.text()
        created = await r.json()
        r = await client.post("/api/compile", json={"tsxCode": BROKEN}, headers=AUTH)
        assert r.status == 422
        # concurrent builds of one new source: one leader compiles, the others wait for it
        await asyncio.gather(*(c.service.build(scene("single flight")) for _ in range(8)))
        for _ in range(2):  # mapping: L1 miss then hit
            r = await client.get(f"/api/components/{created['id']}", allow_redirects=False)
            assert r.status == 302
        url = created["compiledUrl"]
        c.tiers.l1.clear()  # the next read comes from storage
        for encoding in ("br", "gzip", "identity"):
            r = await client.get(url, headers={"Accept-Encoding": encoding})
            assert r.status == 200 and await r.read()
        for _ in range(100):  # brotli is made on demand, off the request path: gzip answers until it is ready
            r = await client.get(url, headers={"Accept-Encoding": "br"}, auto_decompress=False)
            await r.read()
            if r.headers.get("Content-Encoding") == "br":
                break
            await asyncio.sleep(0.02)
        assert (await client.get("/readyz")).status == 200
        r = await client.get("/metrics")
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
        return await r.text()


@pytest.fixture(scope="session")
def exposition(tmp_path_factory: pytest.TempPathFactory) -> str:
    """/metrics of a server that has seen every kind of traffic (single process)."""
    return asyncio.run(_traffic(tmp_path_factory.mktemp("metrics")))
