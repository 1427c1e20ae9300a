"""Redis killed and restarted under load on two nodes (a private redis-server, never the machine's)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from config import Settings
from proxy.db import create_repository
from tests.fixtures_faults import AUTH, PrivateRedis, scene, wait_until

pytestmark = pytest.mark.reliability


async def test_redis_outage_under_load_costs_no_errors_and_invalidation_resumes(
        spawn_server, private_redis: PrivateRedis, pg_settings: Settings, tmp_path: Path,  # type: ignore[no-untyped-def]
        http: aiohttp.ClientSession) -> None:
    shared = {"database_url": pg_settings.database_url, "storage_url": f"file://{tmp_path}/artifacts",
              "redis_url": private_redis.url, "redis_key_prefix": "ap:"}
    a, b = spawn_server(**shared), spawn_server(**shared)
    repo = create_repository(pg_settings)

    scenes: dict[str, str] = {}  # id -> artifact URL
    for _ in range(3):
        async with http.post(f"{a.base}/api/scenes", json={"tsxCode": scene()}, headers=AUTH) as r:
            assert r.status == 201
            meta = await r.json()
            scenes[meta["id"]] = meta["compiledUrl"]

    results: dict[str, Counter[int]] = {"artifact": Counter(), "scene": Counter(), "cold": Counter()}
    stop = asyncio.Event()

    async def load(node_base: str) -> None:
        for _ in range(100_000):  # bounded; `stop` ends it long before
            if stop.is_set():
                return
            for sid, url in scenes.items():
                async with http.get(node_base + url) as r:
                    await r.read()
                    results["artifact"][r.status] += 1
                async with http.get(f"{node_base}/api/components/{sid}", allow_redirects=False) as r:
                    results["scene"][r.status] += 1
            await asyncio.sleep(0.005)

    async def cold_scenes() -> None:
        """Scenes nobody has asked for yet: the node must compile them without Redis."""
        for i in range(10_000):
            if stop.is_set():
                return
            sid = uuid.uuid4()
            await repo.create(sid, scene(), None, uuid.uuid4())
            node = (a, b)[i % 2]
            async with http.get(f"{node.base}/api/components/{sid}", allow_redirects=False) as r:
                results["cold"][r.status] += 1
            await asyncio.sleep(0.1)

    try:
        tasks = [asyncio.create_task(load(a.base)), asyncio.create_task(load(b.base)),
                 asyncio.create_task(cold_scenes())]
        await asyncio.sleep(0.5)
        private_redis.stop()
        await asyncio.sleep(2.5)
        outage = {k: sum(v.values()) for k, v in results.items()}
        private_redis.start()  # same port, empty: every key and subscription is gone

        def resubscribed() -> bool:
            [(_, subscribers)] = private_redis.client().pubsub_numsub("ap:invalidate")
            return int(subscribers) == 2

        assert await asyncio.to_thread(wait_until, resubscribed, 10), "a node's pub/sub listener did not reconnect"
        await asyncio.sleep(0.5)
        stop.set()
        await asyncio.gather(*tasks)
    finally:
        stop.set()
        await repo.close()

    assert outage["artifact"] > 20 and outage["scene"] > 20 and outage["cold"] >= 3, outage
    for kind, counts in results.items():
        assert all(status < 500 for status in counts), (kind, counts)
    assert set(results["artifact"]) == {200} and set(results["scene"]) == {302}, results
    assert set(results["cold"]) == {302}, results

    # cross-node invalidation works again: node b holds a mapping, node a edits, b follows at once
    sid = next(iter(scenes))
    async with http.get(f"{b.base}/api/components/{sid}", allow_redirects=False) as r:
        before = r.headers["Location"]
    async with http.put(f"{a.base}/api/scenes/{sid}", json={"tsxCode": scene()}, headers=AUTH) as r:
        assert r.status == 200
        after = (await r.json())["compiledUrl"]
    assert after != before
    deadline = time.monotonic() + 1.0  # the mapping TTL is 60 s: only the invalidation message can do this
    while True:
        async with http.get(f"{b.base}/api/components/{sid}", allow_redirects=False) as r:
            if r.headers["Location"] == after:
                break
        assert time.monotonic() < deadline, "node b kept the old mapping: invalidation did not resume"
        await asyncio.sleep(0.02)


async def test_a_hung_redis_costs_each_request_a_bounded_wait(
        spawn_server, private_redis: PrivateRedis, tcp_proxy, tmp_path: Path,  # type: ignore[no-untyped-def]
        http: aiohttp.ClientSession) -> None:
    proxy = tcp_proxy(private_redis.port)
    db_url = f"sqlite:///{tmp_path}/proxy.sqlite3"
    server = spawn_server(database_url=db_url, storage_url=f"file://{tmp_path}/artifacts",
                          redis_url=f"redis://127.0.0.1:{proxy.port}/0")
    repo = create_repository(Settings(database_url=db_url))
    async with http.post(f"{server.base}/api/scenes", json={"tsxCode": scene()}, headers=AUTH) as r:
        hot = await r.json()
    proxy.stop()
    proxy.blackhole = True  # connections are accepted and never answered
    proxy.start()
    try:
        for path in (hot["compiledUrl"], f"/api/components/{hot['id']}"):
            async with http.get(server.base + path, allow_redirects=False) as r:
                assert r.status in (200, 302)
        for _ in range(2):
            sid = uuid.uuid4()
            await repo.create(sid, scene(), None, uuid.uuid4())
            started = time.monotonic()
            async with http.get(f"{server.base}/api/components/{sid}", allow_redirects=False,
                                timeout=aiohttp.ClientTimeout(total=4)) as r:
                assert r.status == 302
            assert time.monotonic() - started < 3.0
    finally:
        await repo.close()
