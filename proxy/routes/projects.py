"""GET /api/projects/{projectId}/components: one module holding every scene of the project.

Served at this URL itself (200, `no-cache`, strong ETag = the bundle's hash), not as a redirect to its
content-addressed copy: a repeat view is one request answered 304 instead of a redirect plus a read
from the HTTP cache, and a first view one request instead of two, a round trip less on a real
network. Scene modules keep their contract's 302; the bundle stays reachable immutably at
`Content-Location`.
"""

from __future__ import annotations

from aiohttp import web

from core.artifact import is_valid_hash
from proxy.context import ctx
from proxy.edge_purge import project_key
from proxy.errors import StorageUnavailable
from proxy.http import JS_TYPE, choose_encoding, edge_cache_headers, error_response, etag_matches
from proxy.routes.shared import (
    NOT_FOUND_HEADERS,
    brotli_if_asked,
    client_key,
    parse_id,
    parse_position,
    position_answer,
    serve_source_map,
)

routes = web.RouteTableDef()


@routes.get("/api/projects/{project_id}/original-position")
async def project_original_position(request: web.Request) -> web.StreamResponse:
    """`?line=L&column=C[&hash=H]` in the project's module -> the scene (`sceneId`) and its TSX position."""
    project_id = parse_id(request, "project_id", "project")
    line, column, pinned = parse_position(request)
    c = ctx(request)
    hash = pinned
    if hash is None:
        client = client_key(request, c.settings.trusted_proxy_hops)
        hash = (await c.projects.resolve(project_id, lambda: c.limiter.admit(client))).hash
    return await position_answer(request, c, hash, line, column, pinned=pinned is not None, scene_id=None,
                                 cors=c.cors.headers_for(request.headers.get("Origin")))


@routes.get("/api/projects/{project_id}/{hash}.js.map")
async def project_source_map(request: web.Request) -> web.StreamResponse:
    """The project module's `//# sourceMappingURL=<hash>.js.map` is relative, and the module is served
    at /api/projects/{id}/components: the map answers here too (the same bytes as
    /components/<hash>.js.map, where its immutable copy at Content-Location finds it)."""
    parse_id(request, "project_id", "project")
    hash = request.match_info["hash"]
    if not is_valid_hash(hash):  # answered without touching storage, like /components/<name>
        return error_response(404, "not_found", "no such source map", NOT_FOUND_HEADERS)
    return await serve_source_map(request, ctx(request), hash)


@routes.get("/api/projects/{project_id}/components")
async def get_project_module(request: web.Request) -> web.StreamResponse:
    project_id = parse_id(request, "project_id", "project")
    c = ctx(request)
    client = client_key(request, c.settings.trusted_proxy_hops)
    bundle = await c.projects.resolve(project_id, lambda: c.limiter.admit(client))
    headers = {"Vary": "Accept-Encoding", "Cache-Control": "no-cache", "ETag": f'"{bundle.hash}"',
               "Content-Location": bundle.url, "X-Content-Type-Options": "nosniff", "X-Artifact-Hash": bundle.hash,
               "X-Scene-Count": str(bundle.scenes), **edge_cache_headers(c.edge_max_stale, project_key(project_id))}
    c.cors.apply(headers, request.headers.get("Origin"))
    if bundle.errors:
        headers["X-Compilation-Errors"] = str(bundle.errors)  # per-scene detail: /api/components/{id}/metadata
    if etag_matches(request.headers.get("If-None-Match"), headers["ETag"]):
        return web.Response(status=304, headers=headers)
    artifact = c.tiers.peek(bundle.hash) or await c.service.artifact(bundle.hash)
    if artifact is None:  # evicted from every tier between resolve and now: the next request rebuilds it
        raise StorageUnavailable(f"project module {bundle.hash} vanished from storage; retry")
    brotli_if_asked(request, c.tiers, artifact)
    encoding = choose_encoding(request.headers.get("Accept-Encoding"), brotli=artifact.br is not None)
    if encoding != "identity":
        headers["Content-Encoding"] = encoding
    return web.Response(body=artifact.body(encoding), headers={**headers, "Content-Type": JS_TYPE})
