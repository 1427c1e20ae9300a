"""create_app(settings): wiring only. Stores, cache, compiler and routes are built here and nowhere else."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING

from aiohttp import web

from cache.board import InvalidationBoard
from cache.cluster import Cluster
from cache.failures import FailureMemory
from cache.flight import CompileFlight
from cache.mapping import MappingCache
from cache.tiers import ArtifactTiers
from config import Settings
from core import metrics
from proxy.compiler import create_compiler
from proxy.context import CTX, AppContext
from proxy.db import create_repository
from proxy.edge import add_fallback, add_routes
from proxy.edge_purge import create_edge_purge
from proxy.flags import Flags
from proxy.http import Cors, immutable_headers, immutable_map_headers
from proxy.invalidation import Invalidation
from proxy.limits import CompileLimiter
from proxy.outcomes import CompileOutcomes
from proxy.projects import ProjectBundle, ProjectBundles, Refused
from proxy.routes import artifacts, compile, components, flags, health, preview, projects, scenes
from proxy.routes import metrics as metrics_routes
from proxy.service import CompilationService, Resolution
from proxy.storage import create_store

if TYPE_CHECKING:
    from core.scenes import SceneChange
    from proxy.db.listener import SceneListener

log = logging.getLogger("artifact_proxy.app")


def build_context(settings: Settings) -> AppContext:
    """Every long-lived part, wired; shared by the server and the offline commands (backfill)."""
    repo = create_repository(settings)
    store = create_store(settings)
    compiler = create_compiler(settings)
    board = InvalidationBoard(settings.invalidation_board)
    mappings: MappingCache[Resolution] = MappingCache(settings.mapping_ttl_seconds, board=board)
    project_mappings: MappingCache[ProjectBundle | Refused] = MappingCache(settings.mapping_ttl_seconds, board=board)
    cluster = (Cluster.create(settings, [mappings, project_mappings], CompileOutcomes())
               if settings.redis_url else None)
    edge_purge = create_edge_purge(settings, cluster.tier.client if cluster else None)
    tiers = ArtifactTiers(store, settings.l1_max_bytes, cluster.tier if cluster else None, immutable_headers,
                          immutable_map_headers)
    service = CompilationService(
        repo=repo, compiler=compiler, tiers=tiers, mappings=mappings,
        flight=CompileFlight(cluster.lease if cluster else None), public_base_url=settings.public_base_url,
        negative_ttl=settings.negative_ttl_seconds, shared=cluster,
        invalidation=Invalidation(mappings, project_mappings, cluster, edge_purge),
        background_compiles=settings.compile_workers,
        failures=FailureMemory(settings.failure_backoff_seconds, settings.failure_backoff_max_seconds,
                               cluster.tier if cluster else None),
        record_failures_after=settings.failure_record_after,
        source_maps=settings.source_maps,
        retry_claim_seconds=2 * settings.compile_timeout_seconds + 1)
    return AppContext(settings=settings, repo=repo, store=store, compiler=compiler, tiers=tiers,
                      service=service, cors=Cors(settings.cors_origin_list), flags=Flags(repo),
                      limiter=CompileLimiter(settings.compile_per_client_limit), cluster=cluster,
                      projects=ProjectBundles(service, repo=repo, tiers=tiers, flight=service.flight,
                                              fingerprint=compiler.fingerprint, cache=project_mappings,
                                              max_scenes=settings.project_max_scenes,
                                              compile_concurrency=settings.compile_workers,
                                              negative_ttl=settings.negative_ttl_seconds,
                                              max_bytes=settings.project_max_bytes),
                      edge_purge=edge_purge)


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=settings.max_body_bytes,
                          handler_args={"max_field_size": 16384, "max_line_size": 16384})
    app[CTX] = build_context(settings)
    for module in (artifacts, components, projects, scenes, compile, flags, health, metrics_routes, preview):
        add_routes(app, module.routes)
    add_fallback(app)
    app.cleanup_ctx.append(_lifecycle)
    return app


def _scene_listener(c: AppContext) -> SceneListener | None:
    """One listener per machine (the board shares what it hears with the other workers), on a
    direct connection: LISTEN cannot live behind a transaction pooler."""
    settings = c.settings
    if not settings.database_listen or not settings.database_url.startswith(("postgresql:", "postgres:")):
        return None
    from proxy.db.listener import SceneListener
    from proxy.db.postgres import direct_endpoint

    endpoint = direct_endpoint(settings)
    if endpoint is None:
        log.warning("not listening for the product's own writes: the database URL is a transaction pooler; "
                    "set PROXY_DATABASE_DIRECT_URL (until then they are seen within the mapping TTL, or "
                    "through POST /api/scenes/{id}/changed)", extra={"event": "listen"})
        return None
    service = c.service
    pending: set[asyncio.Task[None]] = set()

    def on_change(change: SceneChange) -> None:
        task = asyncio.ensure_future(service.scene_changed(change))
        pending.add(task)
        task.add_done_callback(pending.discard)

    async def on_gap(since: datetime, lost_connection: bool) -> None:
        await service.missed_changes_since(since, drop_all=lost_connection)

    return SceneListener(endpoint, settings.scene_table, on_change=on_change, on_gap=on_gap,
                         timeout=settings.db_timeout_seconds, reconnect_seconds=settings.listen_reconnect_seconds)


async def _flush_metrics_every_second() -> None:
    while True:
        await asyncio.sleep(1.0)
        metrics.flush_hot_metrics()


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    c = app[CTX]
    await c.repo.migrate()
    await c.compiler.start()
    if c.cluster is not None:
        await c.cluster.start()
    preview.load_runtime(c)
    listener = _scene_listener(c)
    if listener is not None:
        listener.start()
    flusher = asyncio.create_task(_flush_metrics_every_second())
    yield
    flusher.cancel()
    if listener is not None:
        await listener.close()
    metrics.flush_hot_metrics()
    await c.close()
