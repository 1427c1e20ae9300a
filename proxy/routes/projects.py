"""GET /api/projects/{projectId}/components: 302 to one module holding every scene of the project."""

from __future__ import annotations

from aiohttp import web

from proxy.context import ctx
from proxy.routes.components import client_key, parse_id

routes = web.RouteTableDef()


@routes.get("/api/projects/{project_id}/components")
async def redirect_to_bundle(request: web.Request) -> web.StreamResponse:
    project_id = parse_id(request, "project_id", "project")
    c = ctx(request)
    client = client_key(request, c.settings.trust_forwarded_for)
    bundle = await c.projects.resolve(project_id, lambda: c.limiter.admit(client))
    headers = {**c.cors.headers_for(request.headers.get("Origin")), "Location": bundle.url,
               "Cache-Control": "no-cache", "X-Artifact-Hash": bundle.hash, "X-Scene-Count": str(bundle.scenes)}
    if bundle.errors:
        headers["X-Compilation-Errors"] = str(bundle.errors)  # per-scene detail: /api/components/{id}/metadata
    return web.Response(status=302, headers=headers)
