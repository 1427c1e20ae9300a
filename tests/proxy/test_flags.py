"""Rollout flags: deterministic per-user buckets, admin-only changes, seen by every process within a second."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from core.scenes import DatabaseUnavailable
from proxy.app import create_app
from proxy.flags import Flags, is_enabled, user_bucket
from tests.fixtures_backends import AUTH, TOKEN, embedded

USERS = [f"user-{i}" for i in range(4000)]


def test_buckets_are_deterministic_and_spread_evenly() -> None:
    assert all(user_bucket("server-compilation", u) == user_bucket("server-compilation", u) for u in USERS[:50])
    assert all(0 <= user_bucket("server-compilation", u) < 100 for u in USERS)
    for pct in (10, 30, 50, 90):
        share = sum(is_enabled("server-compilation", u, pct) for u in USERS) / len(USERS)
        assert abs(share - pct / 100) < 0.03, (pct, share)
    assert not is_enabled("server-compilation", "anyone", 0)
    assert is_enabled("server-compilation", "anyone", 100)
    assert is_enabled("server-compilation", None, 100) and not is_enabled("server-compilation", None, 99)


def test_a_user_once_in_stays_in_as_the_percentage_grows() -> None:
    for flag in ("server-compilation", "new-player"):
        enabled_before: set[str] = set()
        for pct in range(0, 101, 5):
            enabled = {u for u in USERS if is_enabled(flag, u, pct)}
            assert enabled_before <= enabled, (flag, pct)
            enabled_before = enabled
        assert enabled_before == set(USERS)


def test_flags_bucket_users_independently() -> None:
    a = {u for u in USERS if is_enabled("flag-a", u, 50)}
    b = {u for u in USERS if is_enabled("flag-b", u, 50)}
    overlap = len(a & b) / len(USERS)
    assert 0.2 < overlap < 0.3  # ~25% when independent; 50% if both used the same bucket


class FakeRepo:
    def __init__(self) -> None:
        self.value: int | None = None
        self.reads = 0
        self.down = False
        self.gate: asyncio.Event | None = None

    async def get_flag(self, name: str) -> int | None:
        self.reads += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.down:
            raise DatabaseUnavailable("down")
        return self.value

    async def set_flag(self, name: str, pct: int) -> None:
        self.value = pct


async def test_reads_are_cached_shared_and_survive_a_database_outage() -> None:
    repo = FakeRepo()
    repo.value = 40
    flags = Flags(repo, refresh_seconds=0.05)  # type: ignore[arg-type]
    assert await asyncio.gather(*(flags.percentage("f") for _ in range(20))) == [40] * 20
    assert repo.reads == 1  # concurrent misses share one query
    repo.value = 60
    assert await flags.percentage("f") == 40  # within the refresh interval
    await asyncio.sleep(0.06)
    assert await flags.percentage("f") == 60
    repo.down = True
    await asyncio.sleep(0.06)
    assert await flags.percentage("f") == 60  # stale-if-error
    with pytest.raises(DatabaseUnavailable):
        await flags.percentage("never-read")


async def test_a_read_in_flight_does_not_undo_a_newer_set() -> None:
    repo = FakeRepo()
    repo.value = 10
    flags = Flags(repo)  # type: ignore[arg-type]
    repo.gate = asyncio.Event()
    read = asyncio.create_task(flags.percentage("f"))
    await asyncio.sleep(0)
    repo.value = 10  # the slow read returns the old value...
    await flags.set("f", 70)  # ...after this node set a new one
    repo.gate.set()
    await read
    assert await flags.percentage("f") == 70


async def test_http_get_and_put(aiohttp_client: Any, tmp_path: Path) -> None:
    client: TestClient = await aiohttp_client(create_app(embedded(tmp_path)))
    r = await client.get("/api/flags/server-compilation", params={"userId": "u1"})
    assert r.status == 200 and await r.json() == {"name": "server-compilation", "enabled": False,
                                                  "rolloutPercentage": 0}
    assert r.headers["Cache-Control"] == "no-store"
    r = await client.put("/api/flags/server-compilation", json={"rolloutPercentage": 30}, headers=AUTH)
    assert r.status == 200 and (await r.json())["rolloutPercentage"] == 30
    for user in ("u1", "u2", "u3", "u4"):
        body = await (await client.get("/api/flags/server-compilation", params={"userId": user})).json()
        assert body == {"name": "server-compilation", "rolloutPercentage": 30,
                        "enabled": is_enabled("server-compilation", user, 30)}
    body = await (await client.get("/api/flags/server-compilation")).json()
    assert body["enabled"] is False  # no user: only 100% turns it on
    await client.put("/api/flags/server-compilation", json={"rolloutPercentage": 100}, headers=AUTH)
    assert (await (await client.get("/api/flags/server-compilation")).json())["enabled"] is True


async def test_put_needs_the_admin_token(aiohttp_client: Any, tmp_path: Path) -> None:
    client: TestClient = await aiohttp_client(create_app(embedded(tmp_path)))
    body = {"rolloutPercentage": 50}
    r = await client.put("/api/flags/server-compilation", json=body)
    assert r.status == 401 and "WWW-Authenticate" in r.headers
    r = await client.put("/api/flags/server-compilation", json=body, headers={"Authorization": "Bearer nope"})
    assert r.status == 401
    assert (await (await client.get("/api/flags/server-compilation")).json())["rolloutPercentage"] == 0
    locked: TestClient = await aiohttp_client(create_app(embedded(tmp_path / "locked", admin_token=None)))
    r = await locked.put("/api/flags/server-compilation", json=body, headers=AUTH)
    assert r.status == 403 and "PROXY_ADMIN_TOKEN" in await r.text()


INVALID_BODIES: list[object] = [
    {"rolloutPercentage": -1}, {"rolloutPercentage": 101}, {"rolloutPercentage": "50"},
    {"rolloutPercentage": 50.5}, {"rolloutPercentage": True}, {"rolloutPercentage": None}, {}, [50],
]


async def test_invalid_percentage_is_400(aiohttp_client: Any, tmp_path: Path) -> None:
    client: TestClient = await aiohttp_client(create_app(embedded(tmp_path)))
    for body in INVALID_BODIES:
        r = await client.put("/api/flags/server-compilation", json=body, headers=AUTH)
        assert r.status == 400, (body, await r.text())
        assert "error" in await r.json()
    assert (await (await client.get("/api/flags/server-compilation")).json())["rolloutPercentage"] == 0


async def test_invalid_names_and_users_are_400(aiohttp_client: Any, tmp_path: Path) -> None:
    client: TestClient = await aiohttp_client(create_app(embedded(tmp_path)))
    for name in ("Server-Compilation", "-x", "a" * 65, "a%20b", "%C3%A9"):
        assert (await client.get(f"/api/flags/{name}")).status == 400, name
        r = await client.put(f"/api/flags/{name}", json={"rolloutPercentage": 1}, headers=AUTH)
        assert r.status == 400, name
    r = await client.get("/api/flags/server-compilation", params={"userId": "u" * 257})
    assert r.status == 400
    r = await client.put("/api/flags/server-compilation", data=b"{not json",
                         headers={**AUTH, "Content-Type": "application/json"})
    assert r.status == 400


def _get(base: str, user: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{base}/api/flags/server-compilation?userId={user}", timeout=5) as r:
        return dict(json.loads(r.read()))


def _put(base: str, pct: int) -> None:
    request = urllib.request.Request(f"{base}/api/flags/server-compilation", method="PUT",
                                     data=json.dumps({"rolloutPercentage": pct}).encode(),
                                     headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as r:
        assert r.status == 200


def test_a_change_reaches_another_server_process_within_a_second(spawn_server: Any, tmp_path: Path) -> None:
    shared = {"database_url": f"sqlite:///{tmp_path}/flags.sqlite3", "storage_url": f"file://{tmp_path}/artifacts"}
    a = spawn_server(**shared)
    b = spawn_server(**shared)
    assert _get(b.base, "u1")["rolloutPercentage"] == 0  # b has read (and cached) the old value
    for pct in (25, 80):
        _put(a.base, pct)
        changed = time.monotonic()
        while (seen := _get(b.base, "u1")["rolloutPercentage"]) != pct:
            assert time.monotonic() - changed < 1.0, f"b still says {seen} after 1 s"
            time.sleep(0.02)
        assert _get(b.base, "u1")["enabled"] == is_enabled("server-compilation", "u1", pct)
