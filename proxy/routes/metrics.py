"""GET /metrics in the Prometheus text format; aggregates every worker in multi-process mode.

Readiness is measured at scrape time, the way a Prometheus exporter reports what it probes:
`artifact_proxy_ready` (1 when every dependency answers, as /readyz would say) and
`artifact_proxy_dependency_up{dependency}` per dependency. Computed per scrape from a live probe,
not stored, so it is correct whatever worker answers and never stale."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from core import metrics
from proxy.context import ctx
from proxy.readiness import probe_dependencies

routes = web.RouteTableDef()


class ReadinessCollector(Collector):
    def __init__(self, probes: dict[str, dict[str, object]]) -> None:
        self.up = {name: bool(result["ok"]) for name, result in probes.items()}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        ready = GaugeMetricFamily("artifact_proxy_ready",
                                  "1 when every dependency (database, storage, Redis) answers, as /readyz")
        ready.add_metric([], 1.0 if all(self.up.values()) else 0.0)
        yield ready
        deps = GaugeMetricFamily("artifact_proxy_dependency_up", "1 when the dependency answers its probe",
                                 labels=["dependency"])
        for name, ok in sorted(self.up.items()):
            deps.add_metric([name], 1.0 if ok else 0.0)
        yield deps


@routes.get("/metrics")
async def metrics_endpoint(request: web.Request) -> web.StreamResponse:
    metrics.flush_hot_metrics()  # this worker's hot-path counts, exact as of now
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    readiness = CollectorRegistry(auto_describe=False)
    readiness.register(ReadinessCollector(await probe_dependencies(ctx(request))))
    # reading every worker's files is blocking file I/O: keep it off the event loop
    body = await asyncio.to_thread(generate_latest, registry)
    # no-store: a scrape is a reading of now; no cache may answer one with an older reading
    return web.Response(body=body + generate_latest(readiness),
                        headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})
