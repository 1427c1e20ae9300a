"""GET /api/components/{sceneId}: 302 to the scene's artifact (compiling on a miss), and its metadata."""

from __future__ import annotations

import orjson
from aiohttp import web

from core import metrics
from proxy.context import ctx
from proxy.edge_purge import scene_key
from proxy.http import JS_TYPE, JSON_TYPE, Cors, edge_cache_headers, validated_response
from proxy.routes.shared import client_key, metadata, parse_scene_id
from proxy.service import CompilationService

routes = web.RouteTableDef()


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


@routes.get("/api/components/{scene_id}/metadata")
async def get_metadata(request: web.Request) -> web.StreamResponse:
    scene_id = parse_scene_id(request)
    c = ctx(request)
    scene = await c.service.get_scene(scene_id)
    # no-cache: a scene's state changes at any edit; the ETag makes each revalidation a 304 until then
    return validated_response(request, orjson.dumps(metadata(c.service, scene)), JSON_TYPE, {
        **c.cors.headers_for(request.headers.get("Origin")), "Cache-Control": "no-cache"})
