"""The server process itself: SIGKILL in the middle of artifact writes, and SIGTERM under load."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from config import Settings
from core.artifact import unseal
from proxy.db import create_repository
from tests.fixtures_faults import AUTH, scene

pytestmark = pytest.mark.reliability


async def post_many(base: str, count: int, done: asyncio.Queue[int] | None = None) -> list[int | str]:
    """Create `count` scenes at once; a status per request, or the connection error's name."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        async def one() -> int | str:
            try:
                async with http.post(f"{base}/api/scenes", json={"tsxCode": scene()}, headers=AUTH) as r:
                    await r.read()
                    if done is not None:
                        done.put_nowait(r.status)
                    return r.status
            except aiohttp.ClientError as e:
                return type(e).__name__

        return list(await asyncio.gather(*(one() for _ in range(count))))


@pytest.mark.parametrize("backend", ["local", "s3"])
async def test_sigkill_during_artifact_writes_never_leaves_a_partial_or_dangling_artifact(
        backend: str, spawn_server, tmp_path: Path, request: pytest.FixtureRequest,  # type: ignore[no-untyped-def]
        http: aiohttp.ClientSession) -> None:
    db_url = f"sqlite:///{tmp_path}/proxy.sqlite3"
    artifacts = tmp_path / "artifacts"
    settings: dict[str, str] = {"database_url": db_url, "storage_url": f"file://{artifacts}"}
    s3: Any = None
    if backend == "s3":
        bucket = request.getfixturevalue("s3_bucket")
        s3 = request.getfixturevalue("s3_client")
        settings = {"database_url": db_url, "storage_url": f"s3://{bucket}/components",
                    "s3_endpoint_url": request.getfixturevalue("s3_server")}

    def stored(hash: str) -> bytes | None:
        if s3 is None:
            path = artifacts / f"{hash}.js"
            return path.read_bytes() if path.exists() else None
        try:
            return s3.get_object(Bucket=bucket, Key=f"components/{hash}.js")["Body"].read()  # type: ignore[no-any-return]
        except s3.exceptions.NoSuchKey:
            return None

    def plant(hash: str, data: bytes) -> None:
        if s3 is None:
            (artifacts / f"{hash}.js").write_bytes(data)
        else:
            s3.put_object(Bucket=bucket, Key=f"components/{hash}.js", Body=data)

    rng = random.Random(1234)
    outcomes: Counter[int | str] = Counter()
    for _ in range(2):
        server = spawn_server(**settings)
        done: asyncio.Queue[int] = asyncio.Queue()
        writes = asyncio.create_task(post_many(server.base, 60, done))
        for _ in range(rng.randint(3, 10)):  # some writes acknowledged, the rest somewhere in flight
            await asyncio.wait_for(done.get(), 20)
        server.stop(signal.SIGKILL)
        outcomes.update(await writes)
    assert any(isinstance(o, str) for o in outcomes) and outcomes[201], outcomes

    repo = create_repository(Settings(database_url=db_url))
    try:
        rows = await repo.list_after(None, 1000)
    finally:
        await repo.close()
    compiled = [r for r in rows if r.compiled_hash]
    assert compiled, outcomes
    for row in compiled:  # the row is written after the artifact: it never points at nothing
        data = stored(row.compiled_hash)  # type: ignore[arg-type]
        assert data is not None and unseal(data) is not None, (row.id, row.compiled_hash)

    # a torn object under a final name (a crashed non-atomic writer, a bad disk) is never served
    torn = compiled[0]
    good = stored(torn.compiled_hash)  # type: ignore[arg-type]
    assert good is not None
    plant(torn.compiled_hash, good[: len(good) // 2])  # type: ignore[arg-type]

    server = spawn_server(**settings)
    if s3 is None:  # a new store removes what dead writers left behind
        assert not [p.name for p in artifacts.iterdir() if p.name.startswith(".tmp-")]
    for row in compiled:
        async with http.get(f"{server.base}/components/{row.compiled_hash}.js") as r:
            body = await r.read()
            assert r.status == 200 and unseal(body) is not None, (row.id, r.status)
        async with http.get(f"{server.base}/api/components/{row.id}", allow_redirects=False) as r:
            assert r.status == 302
    async with http.get(f"{server.base}/components/{torn.compiled_hash}.js") as r:
        assert await r.read() == good  # repaired from the scene's code, byte for byte


def sigterm(server: Any, target: str) -> int | None:
    """`main`: the supervisor only (Kubernetes, Docker). `group`: every process of the server's group
    (systemd's default KillMode, `kill -TERM -PGID`), so each worker gets it from both sides."""
    if target == "group":
        return server.stop(signal.SIGTERM)  # type: ignore[no-any-return]
    os.kill(server.proc.pid, signal.SIGTERM)
    return server.proc.wait(20)  # type: ignore[no-any-return]


@pytest.mark.parametrize("target", ["main", "group"])
async def test_sigterm_under_load_finishes_in_flight_requests_without_5xx(
        target: str, spawn_server, tmp_path: Path, http: aiohttp.ClientSession) -> None:  # type: ignore[no-untyped-def]
    server = spawn_server(workers=2, database_url=f"sqlite:///{tmp_path}/proxy.sqlite3",
                          storage_url=f"file://{tmp_path}/artifacts", compile_workers="1",
                          shutdown_timeout_seconds="2")
    hot: list[dict[str, Any]] = []
    for _ in range(2):
        async with http.post(f"{server.base}/api/scenes", json={"tsxCode": scene()}, headers=AUTH) as r:
            hot.append(await r.json())

    outcomes: list[tuple[float, int | str]] = []  # (when the request was sent, its status or error)
    sigterm_at: list[float] = []

    async def load(session: aiohttp.ClientSession) -> None:
        for i in range(100_000):
            started = time.monotonic()
            meta = hot[i % len(hot)]
            path = meta["compiledUrl"] if i % 2 else f"/api/components/{meta['id']}"
            try:
                async with session.get(server.base + path, allow_redirects=False) as r:
                    await r.read()
                    outcomes.append((started, r.status))
            except aiohttp.ClientError as e:
                outcomes.append((started, type(e).__name__))
                if sigterm_at:
                    return
            if sigterm_at and time.monotonic() - sigterm_at[0] > 5:
                return

    # Idle keep-alive connections, as a CDN keeps them, on every worker (the kernel spreads 8 over 2).
    idle = [aiohttp.ClientSession() for _ in range(8)]
    for client in idle:
        async with client.get(f"{server.base}/healthz") as r:
            assert r.status == 200
    fresh = aiohttp.TCPConnector(force_close=True)  # a new connection per request: no idle keep-alive races
    async with aiohttp.ClientSession(connector=fresh, timeout=aiohttp.ClientTimeout(total=30)) as session:
        loops = [asyncio.create_task(load(session)) for _ in range(4)]
        await asyncio.sleep(0.5)
        in_flight = asyncio.create_task(post_many(server.base, 6))  # compiles: slow, queued on one worker
        await asyncio.sleep(0.1)
        sigterm_at.append(time.monotonic())
        code = await asyncio.to_thread(sigterm, server, target)
        stopped_in = time.monotonic() - sigterm_at[0]
        results = await in_flight
        await asyncio.gather(*loops)

    for client in idle:
        await client.close()
    # Bounded by the supervisor: shutdown_timeout (2 s) + 5 s, then it SIGKILLs a worker. Workers
    # usually exit in well under a second, but not always (see the reliability notes): not asserted.
    assert code == 0 and stopped_in < 9, (code, stopped_in)
    assert results == [201] * 6, results
    # sent well before the signal: answered, and never with a 5xx. Sent around or after it: refused
    # connections are the expected answer of a stopping server, a 5xx never is.
    before = Counter(o for t, o in outcomes if t < sigterm_at[0] - 0.05)
    after = Counter(o for t, o in outcomes if t >= sigterm_at[0] - 0.05)
    assert before and all(isinstance(k, int) and k < 500 for k in before), before
    assert all(not isinstance(k, int) or k < 500 for k in after), after
