"""GET /metrics: every series the dashboards and alerts need, and correct sums across workers."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from core.scenes import DatabaseUnavailable
from proxy.app import create_app
from proxy.context import CTX
from proxy.readiness import PROBE_REUSE_SECONDS
from tests.fixtures_backends import embedded

Sample = tuple[str, dict[str, str], float]


def samples(text: str) -> list[Sample]:
    return [(s.name, s.labels, s.value) for f in text_string_to_metric_families(text) for s in f.samples]


def value(text: str, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    return sum(v for n, ls, v in samples(text) if n == name and labels.items() <= ls.items())


def has(text: str, name: str, **labels: str) -> bool:
    return any(n == name and labels.items() <= ls.items() for n, ls, _ in samples(text))


REQUIRED: list[tuple[str, dict[str, str]]] = [
    # compile duration histogram, success and error counters (by error kind)
    ("artifact_proxy_compile_duration_seconds_bucket", {}),
    ("artifact_proxy_compile_duration_seconds_count", {}),
    ("artifact_proxy_compiles_total", {"outcome": "ok"}),
    ("artifact_proxy_compiles_total", {"outcome": "error"}),
    ("artifact_proxy_compile_errors_total", {"kind": "syntax"}),
    # cache hits and misses per tier
    ("artifact_proxy_cache_lookups_total", {"tier": "l1", "kind": "mapping", "result": "miss"}),
    ("artifact_proxy_cache_lookups_total", {"tier": "l1", "kind": "artifact", "result": "miss"}),
    ("artifact_proxy_cache_lookups_total", {"tier": "storage", "kind": "artifact", "result": "hit"}),
    ("artifact_proxy_cache_lookups_total", {"tier": "storage", "kind": "artifact", "result": "miss"}),
    # single-flight leaders vs waiters
    ("artifact_proxy_singleflight_total", {"role": "leader"}),
    ("artifact_proxy_singleflight_total", {"role": "waiter"}),
    # request latency by route and status
    ("artifact_proxy_request_duration_seconds_bucket", {"route": "/components/{name}", "status": "200"}),
    ("artifact_proxy_request_duration_seconds_bucket", {"route": "/api/components/{scene_id}", "status": "302"}),
    ("artifact_proxy_request_duration_seconds_bucket", {"route": "/api/compile", "status": "422"}),
    # artifact bytes served
    ("artifact_proxy_artifact_bytes_served_total", {"encoding": "br"}),
    ("artifact_proxy_artifact_bytes_served_total", {"encoding": "gzip"}),
    ("artifact_proxy_artifact_bytes_served_total", {"encoding": "identity"}),
    # storage latency
    ("artifact_proxy_storage_duration_seconds_bucket", {"op": "put"}),
    ("artifact_proxy_storage_duration_seconds_bucket", {"op": "get"}),
    # readiness
    ("artifact_proxy_ready", {}),
    ("artifact_proxy_dependency_up", {"dependency": "database"}),
    ("artifact_proxy_dependency_up", {"dependency": "storage"}),
]


@pytest.mark.parametrize(("name", "labels"), REQUIRED, ids=[f"{n}{sorted(ls.values())}" for n, ls in REQUIRED])
def test_every_series_is_exported_after_traffic(exposition: str, name: str, labels: dict[str, str]) -> None:
    assert has(exposition, name, **labels)


def test_values_are_plausible(exposition: str) -> None:
    assert value(exposition, "artifact_proxy_ready") == 1
    assert value(exposition, "artifact_proxy_singleflight_total", role="waiter") >= 1
    assert value(exposition, "artifact_proxy_artifact_bytes_served_total", encoding="br") > 0
    assert value(exposition, "artifact_proxy_compile_duration_seconds_count") >= 3


def test_names_follow_prometheus_conventions(exposition: str) -> None:
    for family in text_string_to_metric_families(exposition):
        if not family.name.startswith("artifact_proxy_"):
            continue
        assert family.documentation, family.name
        if family.type == "counter":  # the parser strips _total from the family name
            assert all(s.name.endswith(("_total", "_created")) for s in family.samples), family.name
        if family.type == "histogram":
            assert family.name.endswith(("_seconds", "_bytes")), family.name
        assert not family.name.endswith("_total") or family.type == "counter", family.name


async def test_readiness_gauge_drops_when_a_dependency_fails(aiohttp_client: Any, tmp_path: Path) -> None:
    app = create_app(embedded(tmp_path))
    client: TestClient = await aiohttp_client(app)
    text = await (await client.get("/metrics")).text()
    assert value(text, "artifact_proxy_ready") == 1

    async def down() -> None:
        raise DatabaseUnavailable("connection refused")

    app[CTX].repo.ping = down  # type: ignore[method-assign]
    await asyncio.sleep(PROBE_REUSE_SECONDS)  # a probe result is reused for about a second
    text = await (await client.get("/metrics")).text()
    assert value(text, "artifact_proxy_ready") == 0
    assert value(text, "artifact_proxy_dependency_up", dependency="database") == 0
    assert value(text, "artifact_proxy_dependency_up", dependency="storage") == 1
    assert (await client.get("/readyz")).status == 503  # the gauge says what /readyz says


@pytest.mark.parametrize("kind", ["artifact", "mapping"])
async def test_a_request_answered_from_l1_counts_as_an_l1_hit(aiohttp_client: Any, tmp_path: Path,
                                                                kind: str) -> None:
    from tests.fixtures_app import AUTH, scene

    client: TestClient = await aiohttp_client(create_app(embedded(tmp_path)))
    created = await (await client.post("/api/scenes", json={"tsxCode": scene("l1 hit")}, headers=AUTH)).json()
    url = created["compiledUrl"] if kind == "artifact" else f"/api/components/{created['id']}"
    assert (await client.get(url, allow_redirects=False)).status in (200, 302)  # now in L1 either way

    async def hits() -> float:
        text = await (await client.get("/metrics")).text()
        return value(text, "artifact_proxy_cache_lookups_total", tier="l1", kind=kind, result="hit")

    before = await hits()
    assert (await client.get(url, allow_redirects=False)).status in (200, 302)
    assert await hits() - before == 1


def _fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as r:  # a new connection each time
        return str(r.read().decode())


def test_counters_aggregate_across_workers(spawn_server: Any, tmp_path: Path) -> None:
    server = spawn_server(workers=2, database_url=f"sqlite:///{tmp_path}/m.sqlite3",
                          storage_url=f"file://{tmp_path}/artifacts")
    route = {"route": "/healthz", "status": "200"}
    time.sleep(1.3)  # the start-up readiness polls reach the shared series first
    before = value(_fetch(f"{server.base}/metrics"), "artifact_proxy_request_duration_seconds_count", **route)
    n = 40
    for _ in range(n):
        _fetch(f"{server.base}/healthz")
    time.sleep(1.3)  # hot-path metrics reach the shared series within a second (proxy/metrics.py)
    # whichever worker answers /metrics reports the same total: every worker's requests, added up
    for _ in range(4):
        text = _fetch(f"{server.base}/metrics")
        assert value(text, "artifact_proxy_request_duration_seconds_count", **route) - before == n
        assert value(text, "artifact_proxy_request_duration_seconds_bucket", le="+Inf", **route) - before == n
        assert [v for name, _, v in samples(text) if name == "artifact_proxy_ready"] == [1.0]
