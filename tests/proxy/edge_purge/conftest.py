"""A proxy process with a real Varnish (ops/varnish/default.vcl) in front, purged by the proxy."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from config import Settings
from loadtest.varnish import Varnish
from tests.fixtures_server import TOKEN, ServerProcess, free_port

SCENE = """import {{ AbsoluteFill }} from 'remotion';
export default function Scene() {{
  return <AbsoluteFill><h1>{text}</h1></AbsoluteFill>;
}}
"""
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Edge:
    origin: ServerProcess
    varnish: Varnish
    http: aiohttp.ClientSession

    async def create(self, text: str, project_id: uuid.UUID) -> uuid.UUID:
        scene_id = uuid.uuid4()
        async with self.http.post(f"{self.origin.base}/api/scenes", headers=AUTH, json={
                "id": str(scene_id), "projectId": str(project_id), "tsxCode": SCENE.format(text=text)}) as r:
            assert r.status == 201, await r.text()
        await asyncio.sleep(0.3)  # the create's own purge (0.1 s delay) lands before anything is cached
        return scene_id

    async def edit(self, scene_id: uuid.UUID, text: str) -> None:
        async with self.http.put(f"{self.origin.base}/api/scenes/{scene_id}", headers=AUTH,
                                 json={"tsxCode": SCENE.format(text=text)}) as r:
            assert r.status == 200, await r.text()

    async def view(self, scene_id: uuid.UUID, base: str | None = None) -> aiohttp.ClientResponse:
        async with self.http.get(f"{base or self.varnish.base}/api/components/{scene_id}",
                                 allow_redirects=False) as r:
            await r.read()
            return r

    async def project(self, project_id: uuid.UUID, **headers: str) -> aiohttp.ClientResponse:
        async with self.http.get(f"{self.varnish.base}/api/projects/{project_id}/components",
                                 headers=headers) as r:
            await r.read()
            return r

    async def origin_requests(self, route: str, status: str) -> int:
        """Requests the origin answered, from its /metrics."""
        async with self.http.get(f"{self.origin.base}/metrics") as r:
            text = await r.text()
        series = f'artifact_proxy_request_duration_seconds_count{{route="{route}",status="{status}"}}'
        m = re.search("^" + re.escape(series) + r" ([0-9.e+]+)$", text, re.M)
        return int(float(m.group(1))) if m else 0

    async def metric(self, series: str) -> float:
        async with self.http.get(f"{self.origin.base}/metrics") as r:
            m = re.search("^" + re.escape(series) + r" ([0-9.e+]+)$", await r.text(), re.M)
        return float(m.group(1)) if m else 0.0

    async def until(self, check: Callable[[], Awaitable[bool]], seconds: float) -> float:
        """Seconds until `check` held (polling every 20 ms); fails after `seconds`."""
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            if await check():
                return time.monotonic() - start
            await asyncio.sleep(0.02)
        raise AssertionError(f"not within {seconds}s")


@pytest.fixture
async def edge_factory(spawn_server, varnish_factory, pg_settings: Settings,  # type: ignore[no-untyped-def]
                       tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Edge]]]:
    """edge_factory(**PROXY_settings) -> a proxy on PostgreSQL (NOTIFY) with Varnish in front."""
    sessions: list[aiohttp.ClientSession] = []

    async def make(**settings: str) -> Edge:
        port = free_port()
        varnish = varnish_factory(port)
        env = {"database_url": pg_settings.database_url, "storage_url": f"file://{tmp_path}/artifacts",
               "edge_purge": varnish.purge_url, "edge_purge_delay_seconds": "0.1",
               "edge_max_stale_seconds": "60", **settings}
        origin = spawn_server(port=port, **env)
        http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        sessions.append(http)
        return Edge(origin, varnish, http)

    yield make
    for http in sessions:
        await http.close()


@pytest.fixture
async def edge(edge_factory) -> Edge:  # type: ignore[no-untyped-def]
    return await edge_factory()
