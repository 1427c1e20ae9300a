"""Several real server processes sharing PostgreSQL, an S3 endpoint and Redis: the many-machine shape."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest

from config import Settings
from core.scenes import SceneRepository
from proxy.db import create_repository
from tests.fixtures_server import ServerProcess

SCENE = """import {{ AbsoluteFill }} from 'remotion';
export default function Scene{n}() {{
  return <AbsoluteFill><h1>scene number {n}</h1></AbsoluteFill>;
}}
"""


@dataclass
class ClusterEnv:
    nodes: list[ServerProcess]
    settings: Settings  # what every node shares (database, storage, redis)
    repo: SceneRepository
    http: aiohttp.ClientSession

    async def insert_uncompiled(self, count: int, tag: str = "",
                                project_id: uuid.UUID | None = None) -> list[uuid.UUID]:
        """Scenes written straight to the table, as the product did before this service existed."""
        ids = []
        for n in range(count):
            scene_id = uuid.uuid4()
            await self.repo.create(scene_id, SCENE.format(n=f"{n}{tag}{scene_id.hex[:6]}"), None,
                                   project_id or uuid.uuid4())
            ids.append(scene_id)
        return ids

    async def location(self, node: ServerProcess, scene_id: uuid.UUID) -> str:
        async with self.http.get(f"{node.base}/api/components/{scene_id}", allow_redirects=False) as r:
            assert r.status == 302, (r.status, await r.text())
            return r.headers["Location"]

    async def compiles(self) -> int:
        return await self.counter_total('artifact_proxy_compiles_total{outcome="ok"}')

    async def counter_total(self, series: str) -> int:
        """One counter series summed over every node's /metrics."""
        pattern = re.compile("^" + re.escape(series) + r" ([0-9.e+]+)$", re.M)
        total = 0
        for node in self.nodes:
            async with self.http.get(f"{node.base}/metrics") as r:
                m = pattern.search(await r.text())
            total += int(float(m.group(1))) if m else 0
        return total


@pytest.fixture
def shared_settings(pg_settings: Settings, s3_settings: Settings, redis_url: str, redis_prefix: str) -> Settings:
    return Settings(database_url=pg_settings.database_url, storage_url=s3_settings.storage_url,
                    s3_endpoint_url=s3_settings.s3_endpoint_url, redis_url=redis_url, redis_key_prefix=redis_prefix)


def node_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {"database_url": settings.database_url, "storage_url": settings.storage_url,
           "s3_endpoint_url": settings.s3_endpoint_url or "", "redis_url": settings.redis_url or "",
           "redis_key_prefix": settings.redis_key_prefix}
    env.update(extra)
    return env


@pytest.fixture
async def cluster(spawn_server, shared_settings: Settings) -> AsyncIterator[ClusterEnv]:  # type: ignore[no-untyped-def]
    nodes = [spawn_server(**node_env(shared_settings)) for _ in range(3)]
    repo = create_repository(shared_settings)
    await repo.migrate()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        yield ClusterEnv(nodes, shared_settings, repo, http)
    await repo.close()
