"""GET/HEAD /components/{hash}.js: the hot path. A cached artifact costs a dict lookup and one
Response; headers are precomputed per artifact and encoding."""

from __future__ import annotations

from aiohttp import web

from cache.tiers import Artifact, ArtifactTiers
from core import metrics
from core.artifact import is_valid_hash
from proxy.context import ctx
from proxy.http import Cors, choose_encoding, error_response, etag_matches

routes = web.RouteTableDef()
ARTIFACT_BYTES = {e: metrics.tally(metrics.ARTIFACT_BYTES.labels(e)) for e in ("identity", "gzip", "br")}

# short: the hash may exist soon (a compile in progress)
NOT_FOUND_HEADERS = {**Cors.PUBLIC, "Cache-Control": "public, max-age=10"}


@routes.get("/components/{name}")
async def get_artifact(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    hash = name[:-3] if name.endswith(".js") else ""
    c = ctx(request)
    if not is_valid_hash(hash):  # malformed: answered without touching any tier
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


def brotli_if_asked(request: web.Request, tiers: ArtifactTiers, artifact: Artifact) -> None:
    if artifact.br is None and "br" in request.headers.get("Accept-Encoding", ""):
        tiers.want_brotli(artifact)  # served as gzip this time


def serve_immutable(request: web.Request, artifact: Artifact) -> web.Response:
    """200/304 for immutable, content-addressed JS: strong ETag, one-year cache, negotiated encoding."""
    if etag_matches(request.headers.get("If-None-Match"), artifact.etag):
        return web.Response(status=304, headers=artifact.served["304"])
    encoding = choose_encoding(request.headers.get("Accept-Encoding"), brotli=artifact.br is not None)
    body = artifact.body(encoding)
    if request.method != "HEAD":
        ARTIFACT_BYTES[encoding].inc(len(body))
    return web.Response(body=body, headers=artifact.served[encoding])
