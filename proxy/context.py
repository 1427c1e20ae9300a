"""What every handler can reach, built once by create_app and stored on the application."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from cache.cluster import Cluster
from cache.tiers import ArtifactTiers
from config import Settings
from core.compiler import Compiler
from core.scenes import SceneRepository
from core.storage import ArtifactStore
from proxy.http import Cors
from proxy.preview.runtime import Runtime
from proxy.service import CompilationService
from proxy.sourcemaps import PositionMapper

if TYPE_CHECKING:
    from proxy.edge_purge import EdgePurge
    from proxy.flags import Flags
    from proxy.limits import CompileLimiter
    from proxy.projects import ProjectBundles


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
    edge_purge: EdgePurge | None = None  # PROXY_EDGE_PURGE: the CDN purge queue
    positions: PositionMapper = field(default_factory=PositionMapper)  # compiled -> TSX positions

    @property
    def edge_max_stale(self) -> int | None:
        """The edge TTL of a pointer (scene redirect, project module): only when the edge is purged."""
        return self.settings.edge_max_stale_seconds if self.edge_purge is not None else None

    async def close(self) -> None:
        """The one close sequence (server, backfill, benchmarks): what depends on others goes first."""
        if self.edge_purge is not None:  # before Redis: queued purges still claim their keys
            await self.edge_purge.close()
        if self.cluster is not None:
            await self.cluster.close()
        await self.compiler.close()
        await self.store.close()
        await self.repo.close()


CTX = web.AppKey("ctx", AppContext)


def ctx(request: web.Request) -> AppContext:
    return request.app[CTX]
