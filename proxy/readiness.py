"""The dependency probes behind /readyz and the readiness gauges on /metrics: one definition."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable

from proxy.context import AppContext

PROBE_TIMEOUT = 2.0


async def _probe(check: Awaitable[object]) -> dict[str, object]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check, PROBE_TIMEOUT)
    except Exception as e:  # a probe reports any failure; it never raises
        return {"ok": False, "error": f"{type(e).__name__}: {e}"[:300]}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 2)}


async def probe_dependencies(c: AppContext) -> dict[str, dict[str, object]]:
    """Database, storage, and Redis when configured, probed concurrently, each bounded."""
    checks: dict[str, Awaitable[object]] = {"database": c.repo.ping(), "storage": c.store.check()}
    if c.cluster is not None:
        checks["redis"] = c.cluster.tier.ping()
    results = await asyncio.gather(*(_probe(v) for v in checks.values()))
    return dict(zip(checks, results, strict=True))
