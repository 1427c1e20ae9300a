"""Who may write, and who a compile is charged to: checked against real server processes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from tests.fixtures_faults import scene
from tests.fixtures_server import ROOT, server_env
from tests.proxy.test_abuse import client_from, uncompiled

pytestmark = pytest.mark.reliability


@pytest.mark.parametrize("token", ["", "   ", "short-token"])
def test_a_blank_or_short_admin_token_stops_start_up_with_exit_2(token: str, tmp_path: Path) -> None:
    env = server_env(database_url=f"sqlite:///{tmp_path}/proxy.sqlite3", storage_url=f"file://{tmp_path}/a")
    env["PROXY_ADMIN_TOKEN"] = token
    done = subprocess.run([sys.executable, "-m", "proxy", "serve", "--port", "0"], cwd=ROOT, env=env,
                          capture_output=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr.decode()[-2000:]
    assert b"PROXY_ADMIN_TOKEN" in done.stderr and b"16 characters" in done.stderr
    assert token.strip() == "" or token.encode() not in done.stderr  # the secret is never echoed


async def test_an_empty_presented_token_never_creates_anything(
        spawn_server, tmp_path: Path, http: aiohttp.ClientSession) -> None:  # type: ignore[no-untyped-def]
    server = spawn_server(database_url=f"sqlite:///{tmp_path}/proxy.sqlite3",
                          storage_url=f"file://{tmp_path}/artifacts")
    for header in ("Bearer ", "Bearer", "Bearer    ", "bearer \t", ""):
        sid = str(uuid.uuid4())
        async with http.post(f"{server.base}/api/scenes", json={"id": sid, "tsxCode": scene()},
                             headers={"Authorization": header}) as r:
            assert r.status == 401, (header, r.status)
        async with http.get(f"{server.base}/api/components/{sid}/metadata") as r:
            assert r.status == 404


async def test_the_client_key_is_the_address_the_trusted_proxy_saw_not_the_spoofable_left_entry(
        spawn_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db_url = f"sqlite:///{tmp_path}/proxy.sqlite3"
    server = spawn_server(database_url=db_url, storage_url=f"file://{tmp_path}/artifacts",
                          trusted_proxy_hops="1", compile_per_client_limit="2", compile_queue_limit="64")
    ids = await uncompiled(db_url, 30)
    statuses: Counter[int] = Counter()
    async with client_from("127.0.0.2") as cdn:
        async def one(sid: uuid.UUID) -> None:
            # a fresh random left entry per request (the client's own text); the CDN appends the peer
            spoof = {"X-Forwarded-For": f"10.{uuid.uuid4().int % 250}.0.1, 198.51.100.7"}
            async with cdn.get(f"{server.base}/api/components/{sid}", headers=spoof,
                               allow_redirects=False) as r:
                statuses[r.status] += 1

        await asyncio.gather(*(one(sid) for sid in ids))
    assert statuses[429] > 0, statuses  # all charged to 198.51.100.7, whose limit is 2
    assert set(statuses) <= {302, 429}, statuses
