"""GET /api/components/{sceneId}: 302 to the scene's artifact (compiling on a miss), and its metadata."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from core import metrics
from core.scenes import Scene
from proxy.context import ctx
from proxy.edge_purge import scene_key
from proxy.http import JS_TYPE, Cors, edge_cache_headers, fail, json_response
from proxy.service import CompilationService

routes = web.RouteTableDef()


def parse_id(request: web.Request, key: str, what: str) -> uuid.UUID:
    raw = request.match_info[key]
    try:
        if len(raw) > 36:
            raise ValueError
        return uuid.UUID(raw)
    except ValueError:
        fail(400, "invalid_id", f"{what} id must be a UUID")


def parse_scene_id(request: web.Request) -> uuid.UUID:
    return parse_id(request, "scene_id", "scene")


def client_key(request: web.Request, trusted_proxy_hops: int) -> str:
    """Who a compile-on-miss is charged to. With no trusted proxy, the peer address. Behind N proxies
    that each append the address they saw, the Nth X-Forwarded-For entry from the right is the one
    the outermost trusted proxy saw; everything left of it is the client's own (spoofable) text."""
    if trusted_proxy_hops > 0:
        hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",")]
        if len(hops) >= trusted_proxy_hops and hops[-trusted_proxy_hops]:
            return hops[-trusted_proxy_hops][:64]
    return request.remote or "unknown"


def scene_cors(cors: Cors, origin: str | None) -> dict[str, str]:
    """The scene route's CORS headers. `Origin: null` is a sandboxed document, such as our own /preview
    (CSP sandbox): it may import a scene whatever the allow-list, because this answer is public and
    uncredentialed (its target, the artifact, is `*` anyway) and the preview must work everywhere."""
    if origin == "null" and not cors.any:
        return {"Access-Control-Allow-Origin": "null", "Access-Control-Expose-Headers": cors.EXPOSE,
                "Vary": "Origin"}
    return cors.headers_for(origin)


def header_safe(text: str, limit: int = 512) -> str:
    """Headers are one line of visible ASCII: fold everything else so no value can split a header."""
    flat = "".join(ch if 32 <= ord(ch) < 127 else " " for ch in text)
    return " ".join(flat.split())[:limit] or "compile error"


@routes.get("/api/components/{scene_id}")
async def redirect_to_artifact(request: web.Request) -> web.StreamResponse:
    scene_id = parse_scene_id(request)
    c = ctx(request)
    resolution, expired = c.service.mappings.lookup(scene_id)
    if resolution is not None:
        metrics.L1_MAPPING_HIT.inc()
        if expired:
            c.service.refresh_soon(scene_id)
    else:
        client = client_key(request, c.settings.trusted_proxy_hops)
        resolution = await c.service.resolve(scene_id, lambda: c.limiter.admit(client))
    cors = scene_cors(c.cors, request.headers.get("Origin"))
    if resolution.url is None:
        # never compiled successfully: a module that renders the error, never a blank screen
        return web.Response(
            body=CompilationService.error_module(resolution.error or "compile failed"),
            headers={**cors, "Content-Type": JS_TYPE, "Cache-Control": "no-store",
                     "X-Compilation-Error": header_safe(resolution.error or ""),
                     "X-Content-Type-Options": "nosniff"})
    headers = {**cors, "Location": resolution.url, "Cache-Control": "no-cache",
               "X-Artifact-Hash": resolution.hash or ""}
    if not resolution.transient:  # a stand-in while compiling fails for our reasons stays out of the edge
        headers.update(edge_cache_headers(c.edge_max_stale, scene_key(scene_id)))
    if resolution.error:
        headers["X-Compilation-Error"] = header_safe(resolution.error)
    return web.Response(status=302, headers=headers)


def metadata(service: CompilationService, scene: Scene) -> dict[str, Any]:
    return {
        "id": str(scene.id),
        "name": scene.name,
        "projectId": str(scene.project_id) if scene.project_id else None,
        "status": service.status_of(scene),
        "compiledHash": scene.compiled_hash,
        "compiledUrl": scene.compiled_url,
        "compiledAt": scene.compiled_at.isoformat() if scene.compiled_at else None,
        "compilationError": scene.compilation_error,
        "updatedAt": scene.updated_at.isoformat() if scene.updated_at else None,
    }


@routes.get("/api/components/{scene_id}/metadata")
async def get_metadata(request: web.Request) -> web.StreamResponse:
    scene_id = parse_scene_id(request)
    c = ctx(request)
    scene = await c.service.get_scene(scene_id)
    return json_response(metadata(c.service, scene), headers={
        **c.cors.headers_for(request.headers.get("Origin")), "Cache-Control": "no-cache"})
