"""GET /api/components/{sceneId}: 302 to the scene's artifact (compiling on a miss), and its metadata."""

from __future__ import annotations

import orjson
from aiohttp import web

from core import metrics
from proxy.context import ctx
from proxy.edge_purge import scene_key
from proxy.http import JS_TYPE, JSON_TYPE, Cors, edge_cache_headers, validated_response
from proxy.routes.shared import client_key, metadata, parse_position, parse_scene_id, position_answer
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


@routes.get("/api/components/{scene_id}/original-position")
async def original_position(request: web.Request) -> web.StreamResponse:
    """`?line=L&column=C[&hash=H]` in the scene's compiled module -> its TSX line and column. Without
    `hash`, the scene's current artifact (what /api/components/{id} redirects to); with it, that artifact
    (from a stack frame's URL: the module that actually ran). Public like the module and its map, so
    `Origin: null` (the sandboxed /preview) may ask it, as it may import the scene."""
    scene_id = parse_scene_id(request)
    line, column, pinned = parse_position(request)
    c = ctx(request)
    hash = pinned
    if hash is None:
        client = client_key(request, c.settings.trusted_proxy_hops)
        hash = (await c.service.resolve(scene_id, lambda: c.limiter.admit(client))).hash
    return await position_answer(request, c, hash, line, column, pinned=pinned is not None, scene_id=str(scene_id),
                                 cors=scene_cors(c.cors, request.headers.get("Origin")))


@routes.get("/api/components/{scene_id}/metadata")
async def get_metadata(request: web.Request) -> web.StreamResponse:
    scene_id = parse_scene_id(request)
    c = ctx(request)
    scene = await c.service.get_scene(scene_id)
    # no-cache: a scene's state changes at any edit; the ETag makes each revalidation a 304 until then
    return validated_response(request, orjson.dumps(metadata(c.service, scene)), JSON_TYPE, {
        **c.cors.headers_for(request.headers.get("Origin")), "Cache-Control": "no-cache"})
