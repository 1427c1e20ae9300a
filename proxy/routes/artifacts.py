"""GET/HEAD /components/{hash}.js: the hot path. A cached artifact costs a dict lookup and one
Response; headers are precomputed per artifact and encoding. `/components/{hash}.js.map`, its source
map, is answered by the same route off that path (only a name that is not `.js` reaches it)."""

from __future__ import annotations

from aiohttp import web

from core import metrics
from core.artifact import is_valid_hash
from proxy.context import ctx
from proxy.http import error_response
from proxy.routes.shared import NOT_FOUND_HEADERS, brotli_if_asked, serve_immutable, serve_source_map

routes = web.RouteTableDef()


@routes.get("/components/{name}")
async def get_artifact(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    hash = name[:-3] if name.endswith(".js") else ""
    c = ctx(request)
    if not is_valid_hash(hash):  # malformed: answered without touching any tier
        if name.endswith(".js.map") and is_valid_hash(name[:-7]):
            return await serve_source_map(request, c, name[:-7])
        return error_response(404, "not_found", "no such artifact", NOT_FOUND_HEADERS)
    artifact = c.tiers.peek(hash)
    if artifact is not None:
        metrics.L1_ARTIFACT_HIT.inc()
    else:
        if c.tiers.known_missing(hash):  # missed moments ago: no storage read for it again
            return error_response(404, "not_found", "no such artifact", NOT_FOUND_HEADERS)
        artifact = await c.service.artifact(hash)
        if artifact is None:
            c.tiers.note_missing(hash)
            return error_response(404, "not_found", "no such artifact", NOT_FOUND_HEADERS)
    brotli_if_asked(request, c.tiers, artifact)
    return serve_immutable(request, artifact)
