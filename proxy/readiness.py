"""The dependency probes behind /readyz and the readiness gauges on /metrics: one definition.

A probe result is reused for PROBE_REUSE_SECONDS, and concurrent callers share one probe, so
anonymous requests to /readyz and /metrics cost the database, storage and Redis at most one probe
per second per process. Results say which dependency failed, never why: the error text (hosts,
paths, buckets) goes to the log only.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable

from proxy.context import AppContext

log = logging.getLogger("artifact_proxy.readiness")

PROBE_TIMEOUT = 2.0
PROBE_REUSE_SECONDS = 1.0

Probes = dict[str, dict[str, object]]
_recent: dict[int, tuple[float, asyncio.Future[Probes]]] = {}  # id(context) -> (started, shared probe)


async def _probe(name: str, check: Awaitable[object]) -> dict[str, object]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check, PROBE_TIMEOUT)
    except Exception as e:  # a probe reports any failure; it never raises
        log.warning("readiness probe failed: %s: %s: %s", name, type(e).__name__, str(e)[:300],
                    extra={"event": "probe_failed", "dependency": name})
        return {"ok": False}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 2)}


async def _probe_all(c: AppContext) -> Probes:
    checks: dict[str, Awaitable[object]] = {"database": c.repo.ping(), "storage": c.store.check()}
    if c.cluster is not None:
        checks["redis"] = c.cluster.tier.ping()
    results = await asyncio.gather(*(_probe(name, check) for name, check in checks.items()))
    return dict(zip(checks, results, strict=True))


async def probe_dependencies(c: AppContext) -> Probes:
    """Database, storage, and Redis when configured, probed concurrently, each bounded; reused ~1 s."""
    now = time.monotonic()
    recent = _recent.get(id(c))
    if recent is not None and now - recent[0] < PROBE_REUSE_SECONDS:
        return await asyncio.shield(recent[1])
    future = asyncio.ensure_future(_probe_all(c))
    if len(_recent) > 64:  # contexts of finished apps (tests): forget them
        _recent.clear()
    _recent[id(c)] = (now, future)
    return await asyncio.shield(future)
