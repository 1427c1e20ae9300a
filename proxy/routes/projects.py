"""GET /api/projects/{projectId}/components: one module holding every scene of the project.

Served at this URL itself (200, `no-cache`, strong ETag = the bundle's hash), not as a redirect to its
content-addressed copy: a repeat view is one request answered 304 instead of a redirect plus a read
from the HTTP cache, and a first view one request instead of two, a round trip less on a real
network. Scene modules keep their contract's 302; the bundle stays reachable immutably at
`Content-Location`.
"""

from __future__ import annotations

from aiohttp import web

from proxy.context import ctx
from proxy.edge_purge import project_key
from proxy.errors import StorageUnavailable
from proxy.http import JS_TYPE, choose_encoding, edge_cache_headers, etag_matches
from proxy.routes.shared import brotli_if_asked, client_key, parse_id

routes = web.RouteTableDef()


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
