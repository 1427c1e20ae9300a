"""Object storage down or slow, in front of a real S3 endpoint (moto over HTTP, behind a TcpProxy)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from config import Settings
from core.artifact import seal, unseal
from core.scenes import SceneRepository
from proxy.db import create_repository
from tests.fixtures_faults import AUTH, port_of, scene
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.reliability


@dataclass
class S3Setup:
    server: Any  # ServerProcess
    proxy: TcpProxy
    repo: SceneRepository
    s3: Any  # a boto3 client straight to the endpoint (not through the proxy)
    bucket: str

    def put_object(self, hash: str, body: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=f"components/{hash}.js", Body=body)


@pytest.fixture
async def s3_setup(spawn_server, tcp_proxy, s3_server: str, s3_bucket: str, s3_client: Any,  # type: ignore[no-untyped-def]
                   tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[S3Setup]:
    extra = getattr(request, "param", {})
    proxy = tcp_proxy(port_of(s3_server, 80))
    db_url = f"sqlite:///{tmp_path}/proxy.sqlite3"
    server = spawn_server(database_url=db_url, storage_url=f"s3://{s3_bucket}/components",
                          s3_endpoint_url=f"http://127.0.0.1:{proxy.port}", storage_timeout_seconds="1",
                          **extra)
    repo = create_repository(Settings(database_url=db_url))
    yield S3Setup(server, proxy, repo, s3_client, s3_bucket)
    await repo.close()


async def create(http: aiohttp.ClientSession, base: str, code: str) -> dict[str, Any]:
    async with http.post(f"{base}/api/scenes", json={"tsxCode": code}, headers=AUTH) as r:
        assert r.status == 201, await r.text()
        return await r.json()  # type: ignore[no-any-return]


async def test_storage_down_serves_hot_artifacts_fails_cold_misses_fast_and_recovers(
        s3_setup: S3Setup, http: aiohttp.ClientSession) -> None:
    base = s3_setup.server.base
    hot = await create(http, base, scene())
    async with http.get(f"{base}{hot['compiledUrl']}") as r:
        assert r.status == 200
    cold_scene = uuid.uuid4()
    await s3_setup.repo.create(cold_scene, scene(), None, uuid.uuid4())  # written by the product, never compiled
    parked = "ab" * 8  # an object storage holds but this server never read
    s3_setup.put_object(parked, seal(b"export default function P() { return null; }\n"))

    s3_setup.proxy.stop()

    statuses: list[int] = []
    for _ in range(40):
        async with http.get(f"{base}{hot['compiledUrl']}") as r:
            statuses.append(r.status)
        async with http.get(f"{base}/api/components/{hot['id']}", allow_redirects=False) as r:
            statuses.append(r.status)
    assert set(statuses) <= {200, 302}, statuses

    for path in (f"/components/{parked}.js", f"/api/components/{cold_scene}"):
        started = time.monotonic()
        async with http.get(base + path, allow_redirects=False) as r:
            body = await r.json()
            assert r.status == 503, (path, r.status, body)
            assert int(r.headers["Retry-After"]) >= 1
            assert body["error"]["code"] == "dependency_unavailable"
        assert time.monotonic() - started < 4.0, path
    async with http.post(f"{base}/api/compile", json={"tsxCode": scene()}, headers=AUTH) as r:
        assert r.status == 503 and "Retry-After" in r.headers

    s3_setup.proxy.start()

    deadline = time.monotonic() + 10
    while True:
        async with http.get(f"{base}/components/{parked}.js") as r:
            if r.status == 200:
                assert unseal(await r.read()) is not None
                break
        assert time.monotonic() < deadline, "storage came back but the server did not"
        await asyncio.sleep(0.2)
    async with http.get(f"{base}/api/components/{cold_scene}", allow_redirects=False) as r:
        assert r.status == 302
    await create(http, base, scene())


async def test_slow_storage_times_out_instead_of_hanging(
        s3_setup: S3Setup, http: aiohttp.ClientSession) -> None:
    base = s3_setup.server.base
    first = await create(http, base, scene())
    async with http.get(f"{base}{first['compiledUrl']}") as r:
        assert r.status == 200
    parked = "cd" * 8
    s3_setup.put_object(parked, seal(b"export default function P() { return null; }\n"))

    s3_setup.proxy.latency = 2.5  # every chunk each way: far over the 1 s storage timeout

    # the hot path never touches storage
    started = time.monotonic()
    async with http.get(f"{base}{first['compiledUrl']}") as r:
        assert r.status == 200
    assert time.monotonic() - started < 0.5

    # a cold read times out as "unavailable", bounded by the storage timeout, never a hang
    started = time.monotonic()
    async with http.get(f"{base}/components/{parked}.js") as r:
        assert r.status == 503 and "Retry-After" in r.headers
    assert time.monotonic() - started < 3.0

    # many readers of one cold object: each is bounded by the same timeout, none hangs
    async def cold() -> tuple[int, float]:
        t = time.monotonic()
        async with http.get(f"{base}/components/{parked}.js") as r:
            return r.status, time.monotonic() - t

    answers = await asyncio.gather(*(cold() for _ in range(10)))
    assert all(status == 503 and elapsed < 3.0 for status, elapsed in answers), answers

    s3_setup.proxy.latency = 0.0
    deadline = time.monotonic() + 15
    while True:
        async with http.get(f"{base}/components/{parked}.js") as r:
            if r.status == 200:
                break
        assert time.monotonic() < deadline, "storage is fast again but reads still fail"
        await asyncio.sleep(0.2)



@pytest.mark.parametrize("s3_setup", [{"mapping_ttl_seconds": "0.2"}], indirect=True)
async def test_single_flight_waiters_of_a_timed_out_compile_fall_back_to_the_last_good_artifact(
        s3_setup: S3Setup, http: aiohttp.ClientSession) -> None:
    base = s3_setup.server.base
    first = await create(http, base, scene())
    scene_id = uuid.UUID(first["id"])
    await s3_setup.repo.update_code(scene_id, scene())  # the product edits the row directly
    await asyncio.sleep(0.3)  # the mapping TTL (0.2 s) passes: the next request re-reads the row
    s3_setup.proxy.latency = 2.5

    async def one() -> tuple[int, str, float]:
        t = time.monotonic()
        async with http.get(f"{base}/api/components/{scene_id}", allow_redirects=False) as r:
            return r.status, r.headers.get("Location", ""), time.monotonic() - t

    answers = await asyncio.gather(*(one() for _ in range(10)))
    s3_setup.proxy.latency = 0.0
    assert all(elapsed < 4.0 for _, _, elapsed in answers), answers  # holds today: one bounded timeout
    assert all(status == 302 and location == first["compiledUrl"] for status, location, _ in answers), (
        "the scene has a last good artifact, yet every waiter of the timed-out compile got 503", answers)
