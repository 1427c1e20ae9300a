"""What every handler can reach, built once by create_app and stored on the application."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from cache.cluster import Cluster
from cache.tiers import ArtifactTiers
from config import Settings
from core.compiler import Compiler
from core.scenes import SceneRepository
from core.storage import ArtifactStore
from proxy.http import Cors
from proxy.service import CompilationService

if TYPE_CHECKING:
    from proxy.flags import Flags
    from proxy.limits import CompileLimiter
    from proxy.projects import ProjectBundles
    from proxy.routes.preview import Runtime


@dataclass
class AppContext:
    settings: Settings
    repo: SceneRepository
    store: ArtifactStore
    compiler: Compiler
    tiers: ArtifactTiers
    service: CompilationService
    cors: Cors
    flags: Flags
    limiter: CompileLimiter
    projects: ProjectBundles
    cluster: Cluster | None = None  # Redis L2 + bus + lease, when PROXY_REDIS_URL is set
    runtime: Runtime | None = None
    scene_client: Runtime | None = None  # the scene client module, served like the runtime

    async def close(self) -> None:
        """The one close sequence (server, backfill, benchmarks): what depends on others goes first."""
        if self.cluster is not None:
            await self.cluster.close()
        await self.compiler.close()
        await self.store.close()
        await self.repo.close()


CTX = web.AppKey("ctx", AppContext)


def ctx(request: web.Request) -> AppContext:
    return request.app[CTX]
