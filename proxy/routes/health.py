"""GET /healthz (the process answers) and GET /readyz (its dependencies answer, each bounded)."""

from __future__ import annotations

from aiohttp import web

from proxy.context import ctx
from proxy.http import json_response
from proxy.readiness import probe_dependencies

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.StreamResponse:
    return json_response({"status": "ok"}, headers={"Cache-Control": "no-store"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.StreamResponse:
    results = await probe_dependencies(ctx(request))
    ready = all(r["ok"] for r in results.values())
    return json_response({"status": "ready" if ready else "unready", "checks": results},
                         status=200 if ready else 503, headers={"Cache-Control": "no-store"})
