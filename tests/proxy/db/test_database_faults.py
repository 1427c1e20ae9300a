"""PostgreSQL down or hung, through a TcpProxy in front of the machine's server (never stopped itself)."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import aiohttp
import pytest

from config import Settings
from proxy.db import create_repository
from tests.fixtures_faults import AUTH, port_of, scene, with_port

pytestmark = pytest.mark.reliability


async def test_database_down_serves_cached_mappings_refuses_the_rest_quickly_and_reconnects(
        spawn_server, tcp_proxy, pg_settings: Settings, tmp_path: Path,  # type: ignore[no-untyped-def]
        http: aiohttp.ClientSession) -> None:
    proxy = tcp_proxy(port_of(pg_settings.database_url, 5432))
    server = spawn_server(database_url=with_port(pg_settings.database_url, proxy.port),
                          storage_url=f"file://{tmp_path}/artifacts", db_timeout_seconds="1",
                          mapping_ttl_seconds="0.3")
    base = server.base

    acknowledged: dict[str, str] = {}  # id -> the code a 2xx answer confirmed
    cached: dict[str, str] = {}  # id -> where it redirected before the outage
    project = str(uuid.uuid4())
    for _ in range(3):
        code = scene()
        async with http.post(f"{base}/api/scenes", json={"tsxCode": code, "projectId": project}, headers=AUTH) as r:
            assert r.status == 201
            sid = (await r.json())["id"]
        acknowledged[sid] = code
        async with http.get(f"{base}/api/components/{sid}", allow_redirects=False) as r:
            assert r.status == 302
            cached[sid] = r.headers["Location"]
    edited = next(iter(acknowledged))
    code = scene()
    async with http.put(f"{base}/api/scenes/{edited}", json={"tsxCode": code}, headers=AUTH) as r:
        assert r.status == 200
    acknowledged[edited] = code
    async with http.get(f"{base}/api/components/{edited}", allow_redirects=False) as r:
        cached[edited] = r.headers["Location"]
    async with http.get(f"{base}/api/projects/{project}/components") as r:
        assert r.status == 200
        project_module = r.headers["ETag"], await r.read()
    never_seen = uuid.uuid4()

    proxy.stop()
    await asyncio.sleep(0.4)  # every cached mapping is now past its TTL: only stale-if-error serves it

    for sid, location in cached.items():
        for _ in range(5):
            async with http.get(f"{base}/api/components/{sid}", allow_redirects=False) as r:
                assert r.status == 302 and r.headers["Location"] == location, (sid, r.status)
            async with http.get(f"{base}{location}") as r:
                assert r.status == 200
    async with http.get(f"{base}/api/projects/{project}/components") as r:  # stale-if-error, as for scenes
        assert r.status == 200 and (r.headers["ETag"], await r.read()) == project_module

    async def refused(method: str, path: str, body: dict[str, str] | None = None) -> None:
        started = time.monotonic()
        async with http.request(method, base + path, json=body, headers=AUTH, allow_redirects=False) as r:
            assert r.status == 503, (method, path, r.status, await r.text())
            assert int(r.headers["Retry-After"]) >= 1
        assert time.monotonic() - started < 2.5, (method, path)

    await refused("GET", f"/api/components/{never_seen}")
    await refused("GET", f"/api/projects/{never_seen}/components")
    await refused("GET", f"/api/components/{edited}/metadata")
    await refused("POST", "/api/scenes", {"tsxCode": scene()})
    await refused("PUT", f"/api/scenes/{edited}", {"tsxCode": scene()})
    await refused("PUT", "/api/flags/reliability", {"rolloutPercentage": 5})  # type: ignore[dict-item]

    # hung, not down: every wait is still bounded by the database timeout
    proxy.blackhole = True
    proxy.start()
    await refused("GET", f"/api/components/{never_seen}")
    async with http.get(f"{base}/api/components/{edited}", allow_redirects=False) as r:
        assert r.status == 302
    proxy.stop()
    proxy.blackhole = False

    proxy.start()
    deadline = time.monotonic() + 15
    while True:
        async with http.get(f"{base}/api/components/{never_seen}", allow_redirects=False) as r:
            if r.status == 404:
                break
            assert r.status == 503
        assert time.monotonic() < deadline, "the pool did not reconnect by itself"
        await asyncio.sleep(0.2)
    async with http.post(f"{base}/api/scenes", json={"tsxCode": scene()}, headers=AUTH) as r:
        assert r.status == 201

    repo = create_repository(pg_settings)  # straight to PostgreSQL: what was acknowledged is there
    try:
        for sid, code in acknowledged.items():
            row = await repo.get(uuid.UUID(sid))
            assert row is not None and row.tsx_code == code
    finally:
        await repo.close()
