"""The compiler's Node process hung (SIGSTOP) or killed (SIGKILL) in the middle of a compile."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from pathlib import Path

import aiohttp
import pytest

from config import Settings
from proxy.db import create_repository
from tests.fixtures_faults import AUTH, children, node_children, scene, wait_until

pytestmark = pytest.mark.reliability

TIMEOUT = 2.0


def one_worker(server_pid: int, not_pid: int | None = None) -> int:
    """The pid of the server's only node worker (waiting for a replacement of `not_pid`)."""
    found: list[int] = []

    def ready() -> bool:
        found[:] = node_children(server_pid)
        return len(found) == 1 and found[0] != not_pid

    assert wait_until(ready, 30), f"expected exactly one node worker, found {children(server_pid)}"
    return found[0]


def no_leftovers(server_pid: int) -> None:
    def clean() -> bool:
        procs = children(server_pid)
        nodes = [p for p, n in procs.items() if n.startswith("node")]
        esbuilds = [p for p, n in procs.items() if n.startswith("esbuild")]
        zombies = [p for p, n in procs.items() if n.endswith("<zombie>")]
        return len(nodes) == 1 and len(esbuilds) <= 1 and not zombies

    assert wait_until(clean, 10), f"leaked processes: {children(server_pid)}"


async def compile_status(http: aiohttp.ClientSession, base: str) -> tuple[int, str, float]:
    started = time.monotonic()
    async with http.post(f"{base}/api/compile", json={"tsxCode": scene()}, headers=AUTH) as r:
        body = await r.json()
        return r.status, str(body.get("error", {}).get("code", "")), time.monotonic() - started


async def test_a_hung_or_killed_compiler_fails_one_request_in_time_and_is_replaced(
        spawn_server, tmp_path: Path, http: aiohttp.ClientSession) -> None:  # type: ignore[no-untyped-def]
    db_url = f"sqlite:///{tmp_path}/proxy.sqlite3"
    server = spawn_server(database_url=db_url, storage_url=f"file://{tmp_path}/artifacts",
                          compile_timeout_seconds=str(TIMEOUT), negative_ttl_seconds="0",
                          failure_backoff_seconds="0.2")  # the timeouts here are the worker's, not the scene's
    pid = server.proc.pid
    assert (await compile_status(http, server.base))[0] == 200

    # hung: the worker never answers; the request fails at the compile timeout, the worker is replaced
    hung = one_worker(pid)
    os.kill(hung, signal.SIGSTOP)
    status, code, elapsed = await compile_status(http, server.base)
    assert (status, code) == (503, "compiler_unavailable") and elapsed < TIMEOUT + 1.5, (status, code, elapsed)
    replacement = one_worker(pid, not_pid=hung)
    assert not os.path.exists(f"/proc/{hung}"), "the hung worker was left running"
    assert (await compile_status(http, server.base))[0] == 200
    no_leftovers(pid)

    # killed mid-compile: the request it was serving fails at once, not at the timeout
    os.kill(replacement, signal.SIGSTOP)  # hold it so the kill lands mid-request
    pending = asyncio.create_task(compile_status(http, server.base))
    await asyncio.sleep(0.3)
    os.kill(replacement, signal.SIGKILL)
    killed_at = time.monotonic()
    status, code, _ = await pending
    assert (status, code) == (503, "compiler_unavailable")
    assert time.monotonic() - killed_at < 1.0
    fresh = one_worker(pid, not_pid=replacement)
    assert (await compile_status(http, server.base))[0] == 200
    no_leftovers(pid)

    # the scene route on a hung compiler: an answer within the timeout, then a good one once replaced
    repo = create_repository(Settings(database_url=db_url))
    sid = uuid.uuid4()
    try:
        await repo.create(sid, scene(), None, uuid.uuid4())
    finally:
        await repo.close()
    os.kill(fresh, signal.SIGSTOP)
    started = time.monotonic()
    async with http.get(f"{server.base}/api/components/{sid}", allow_redirects=False) as r:
        assert r.status in (200, 503), r.status  # the error module (no-store) or "try again"
        assert r.headers["Cache-Control"] == "no-store" if r.status == 200 else "Retry-After" in r.headers
    assert time.monotonic() - started < TIMEOUT + 1.5
    one_worker(pid, not_pid=fresh)
    # the timed-out source is remembered: after its back-off it is retried behind a request, then served
    statuses = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and 302 not in statuses:
        async with http.get(f"{server.base}/api/components/{sid}", allow_redirects=False) as r:
            statuses.append(r.status)
        await asyncio.sleep(0.2)
    assert statuses[-1] == 302 and set(statuses) <= {200, 302}, statuses
    no_leftovers(pid)
