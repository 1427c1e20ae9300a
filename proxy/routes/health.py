"""GET /healthz (the process answers) and GET /readyz (its dependencies answer, each bounded)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable

from aiohttp import web

from proxy.context import ctx
from proxy.http import json_response

routes = web.RouteTableDef()
PROBE_TIMEOUT = 2.0


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.StreamResponse:
    return json_response({"status": "ok"}, headers={"Cache-Control": "no-store"})


async def _probe(check: Awaitable[object]) -> dict[str, object]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check, PROBE_TIMEOUT)
    except Exception as e:  # a probe reports any failure; it never raises
        return {"ok": False, "error": f"{type(e).__name__}: {e}"[:300]}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 2)}


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    checks = {"database": c.repo.ping(), "storage": c.store.check()}
    if c.cluster is not None:
        checks["redis"] = c.cluster.tier.ping()
    results = dict(zip(checks, await asyncio.gather(*(_probe(v) for v in checks.values())), strict=True))
    ready = all(r["ok"] for r in results.values())
    return json_response({"status": "ready" if ready else "unready", "checks": results},
                         status=200 if ready else 503, headers={"Cache-Control": "no-store"})
