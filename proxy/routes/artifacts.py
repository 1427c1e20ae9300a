"""GET/HEAD /components/{hash}.js: the hot path. A cached artifact costs a dict lookup and one
Response; headers are precomputed per artifact and encoding."""

from __future__ import annotations

from aiohttp import web

from cache.tiers import Artifact
from proxy import metrics
from proxy.artifact import is_valid_hash
from proxy.context import ctx
from proxy.http import JS_TYPE, Cors, choose_encoding, error_response, etag_matches

routes = web.RouteTableDef()

IMMUTABLE = "public, max-age=31536000, immutable"
NOT_FOUND_CACHE = "public, max-age=10"  # short: the hash may exist soon (compile in progress)


@routes.get("/components/{name}")
async def get_artifact(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    hash = name[:-3] if name.endswith(".js") else ""
    c = ctx(request)
    cors = Cors.PUBLIC
    if not is_valid_hash(hash):  # malformed: answered without touching any tier
        return error_response(404, "not_found", "no such artifact", {**cors, "Cache-Control": NOT_FOUND_CACHE})
    artifact = c.tiers.peek(hash)
    if artifact is not None:
        metrics.L1_ARTIFACT_HIT.inc()
    else:
        artifact = await c.service.artifact(hash)
        if artifact is None:
            return error_response(404, "not_found", "no such artifact",
                                  {**cors, "Cache-Control": NOT_FOUND_CACHE})
    return serve_immutable(request, artifact, cors)


def serve_immutable(request: web.Request, artifact: Artifact, cors: dict[str, str]) -> web.Response:
    """200/304 for immutable, content-addressed JS: strong ETag, one-year cache, negotiated encoding."""
    headers = {
        **cors,
        "Cache-Control": IMMUTABLE,
        "ETag": artifact.etag,
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    if etag_matches(request.headers.get("If-None-Match"), artifact.etag):
        return web.Response(status=304, headers=headers)
    encoding = choose_encoding(request.headers.get("Accept-Encoding"))
    body = artifact.body(encoding)
    if encoding != "identity":
        headers["Content-Encoding"] = encoding
    headers["Content-Type"] = JS_TYPE
    if request.method != "HEAD":
        metrics.ARTIFACT_BYTES.labels(encoding).inc(len(body))
    return web.Response(body=body, headers=headers)
