"""create_app(settings): wiring only. Stores, cache, compiler and routes are built here and nowhere else."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from cache.board import InvalidationBoard
from cache.cluster import Cluster
from cache.flight import CompileFlight
from cache.mapping import MappingCache
from cache.tiers import ArtifactTiers
from config import Settings
from proxy import metrics
from proxy.compiler import create_compiler
from proxy.compiler.types import CompileError
from proxy.context import CTX, AppContext
from proxy.db import create_repository
from proxy.errors import UNAVAILABLE, Overloaded, SceneExists, SceneNotFound
from proxy.flags import Flags
from proxy.http import Cors, HTTPProblem, error_response
from proxy.limits import CompileLimiter
from proxy.routes import artifacts, compile, components, flags, health, preview, scenes
from proxy.routes import metrics as metrics_routes
from proxy.service import CompilationService, Resolution
from proxy.storage import create_store

log = logging.getLogger("artifact_proxy.http")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _problem_for(exc: Exception) -> web.Response | None:
    """The one mapping from service failures to HTTP; None means an unexpected error (500)."""
    if isinstance(exc, HTTPProblem):
        return exc.response()
    if isinstance(exc, SceneNotFound):
        return error_response(404, "not_found", "no scene with that id")
    if isinstance(exc, SceneExists):
        return error_response(409, "exists", "a scene with that id exists")
    if isinstance(exc, Overloaded):
        return error_response(429, "overloaded", str(exc), {"Retry-After": str(max(1, round(exc.retry_after)))})
    if isinstance(exc, CompileError):  # only our faults reach here: the code's errors are answers
        if exc.kind == "overloaded":
            return error_response(429, "overloaded", exc.message, {"Retry-After": "1"})
        return error_response(503, "compiler_unavailable", exc.message, {"Retry-After": "1"})
    if isinstance(exc, UNAVAILABLE):
        return error_response(503, "dependency_unavailable", str(exc) or type(exc).__name__,
                              {"Retry-After": "2"})
    return None


@web.middleware
async def edge_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Errors to JSON, CORS on every answer (errors included), one latency observation per request."""
    started = time.perf_counter()
    if request.method == "OPTIONS":  # CORS preflight, for any path (no route table entry needed)
        return request.app[CTX].cors.preflight(request)
    try:
        response = await handler(request)
    except web.HTTPException as e:  # aiohttp's own: unknown route, 405, 413 body too large
        if e.status < 400:
            raise
        response = error_response(e.status, e.reason.lower().replace(" ", "_"), e.text or e.reason)
        if "Allow" in e.headers:
            response.headers["Allow"] = e.headers["Allow"]
    except Exception as e:
        problem = _problem_for(e)
        if problem is None:
            log.exception("unhandled error", extra={"event": "error", "path": request.path})
            problem = error_response(500, "internal", "internal error")
        response = problem
    if "Access-Control-Allow-Origin" not in response.headers:
        response.headers.update(request.app[CTX].cors.headers_for(request.headers.get("Origin")))
    _latency(request, response.status).observe(time.perf_counter() - started)
    return response


_LATENCY: dict[tuple[str, int], Any] = {}


def _latency(request: web.Request, status: int) -> Any:
    """The histogram child for (route pattern, status), looked up once: labels() costs microseconds."""
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    child = _LATENCY.get((route, status))
    if child is None:
        child = _LATENCY[(route, status)] = metrics.REQUEST_SECONDS.labels(route, str(status))
    return child


def build_context(settings: Settings) -> AppContext:
    """Every long-lived part, wired; shared by the server and the offline commands (backfill)."""
    repo = create_repository(settings)
    store = create_store(settings)
    compiler = create_compiler(settings)
    board = InvalidationBoard(settings.invalidation_board)
    mappings: MappingCache[Resolution] = MappingCache(settings.mapping_ttl_seconds, board=board)
    cluster = Cluster.create(settings, mappings) if settings.redis_url else None  # type: ignore[arg-type]
    tiers = ArtifactTiers(store, settings.l1_max_bytes, cluster.tier if cluster else None)
    service = CompilationService(
        repo=repo, compiler=compiler, tiers=tiers, mappings=mappings,
        flight=CompileFlight(cluster.lease if cluster else None), public_base_url=settings.public_base_url,
        negative_ttl=settings.negative_ttl_seconds, shared=cluster)
    return AppContext(settings=settings, repo=repo, store=store, compiler=compiler, tiers=tiers,
                      service=service, cors=Cors(settings.cors_origin_list), flags=Flags(repo),
                      limiter=CompileLimiter(settings.compile_per_client_limit), cluster=cluster)


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[edge_middleware],
                          handler_args={"max_field_size": 16384, "max_line_size": 16384})
    app[CTX] = build_context(settings)
    for module in (artifacts, components, scenes, compile, flags, health, metrics_routes, preview):
        app.router.add_routes(module.routes)
    app.cleanup_ctx.append(_lifecycle)
    return app


async def _lifecycle(app: web.Application):  # type: ignore[no-untyped-def]
    c = app[CTX]
    await c.repo.migrate()
    await c.compiler.start()
    if c.cluster is not None:
        await c.cluster.start()
    preview.load_runtime(c)
    yield
    if c.cluster is not None:
        await c.cluster.close()
    await c.compiler.close()
    await c.store.close()
    await c.repo.close()
