"""The public surface an anonymous caller can reach: preview isolation, probes, 503 bodies, random misses.

Real server processes, a private Redis of the test's own, PostgreSQL behind a stoppable TCP proxy."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from pathlib import Path

import aiohttp
import pytest

from config import Settings
from tests.fixtures_faults import AUTH, PrivateRedis, port_of, scene, with_port

pytestmark = pytest.mark.reliability

ALLOWED = "https://app.example.com"


async def create(http: aiohttp.ClientSession, base: str) -> str:
    async with http.post(f"{base}/api/scenes", json={"tsxCode": scene()}, headers=AUTH) as r:
        assert r.status == 201
        return str((await r.json())["id"])


async def test_preview_is_sandboxed_and_its_opaque_origin_may_import_scenes_under_an_allow_list(
        spawn_server, tmp_path: Path, http: aiohttp.ClientSession) -> None:  # type: ignore[no-untyped-def]
    server = spawn_server(database_url=f"sqlite:///{tmp_path}/proxy.sqlite3",
                          storage_url=f"file://{tmp_path}/artifacts", cors_origins=ALLOWED)
    sid = await create(http, server.base)
    async with http.get(f"{server.base}/preview/{sid}") as r:
        if r.status == 200:  # 503 when the browser runtime is not built; the header is what matters here
            assert r.headers["Content-Security-Policy"] == "sandbox allow-scripts"
    async with http.get(f"{server.base}/api/components/{sid}", headers={"Origin": "null"},
                        allow_redirects=False) as r:
        assert r.status == 302 and r.headers["Access-Control-Allow-Origin"] == "null"
        location = r.headers["Location"]
    async with http.get(f"{server.base}{location}", headers={"Origin": "null"}) as r:
        assert r.status == 200 and r.headers["Access-Control-Allow-Origin"] == "*"
    async with http.get(f"{server.base}/api/components/{sid}", headers={"Origin": "https://evil.example"},
                        allow_redirects=False) as r:
        assert "Access-Control-Allow-Origin" not in r.headers  # the allow-list still holds for others
    async with http.get(f"{server.base}/api/components/{sid}/metadata", headers={"Origin": "null"}) as r:
        assert "Access-Control-Allow-Origin" not in r.headers  # only the scene route serves the sandbox


async def test_probes_are_reused_for_a_second_and_name_the_failed_dependency_without_its_error(
        spawn_server, tmp_path: Path, private_redis: PrivateRedis,  # type: ignore[no-untyped-def]
        http: aiohttp.ClientSession) -> None:
    server = spawn_server(database_url=f"sqlite:///{tmp_path}/proxy.sqlite3",
                          storage_url=f"file://{tmp_path}/artifacts", redis_url=private_redis.url)
    client = private_redis.client()

    def pings() -> int:
        stats = client.info("commandstats")
        return int(stats.get("cmdstat_ping", {}).get("calls", 0))

    before = pings()
    for _ in range(5):
        answers = await asyncio.gather(*(http.get(f"{server.base}/{path}") for path in ["readyz", "metrics"] * 20))
        assert {a.status for a in answers} == {200}
        for a in answers:
            a.release()
        await asyncio.sleep(0.1)
    assert pings() - before <= 2, pings() - before  # 200 requests in ~0.5 s: one or two probes

    private_redis.stop()
    await asyncio.sleep(1.2)
    async with http.get(f"{server.base}/readyz") as r:
        body = await r.text()
        assert r.status == 503, body
    assert '"redis":{"ok":false}' in body.replace(" ", ""), body
    assert str(private_redis.port) not in body and "Error" not in body and "refused" not in body.lower()


async def test_a_database_outage_answers_503_naming_the_database_but_not_its_address(
        spawn_server, tcp_proxy, pg_settings: Settings, tmp_path: Path,  # type: ignore[no-untyped-def]
        http: aiohttp.ClientSession) -> None:
    proxy = tcp_proxy(port_of(pg_settings.database_url, 5432))
    server = spawn_server(database_url=with_port(pg_settings.database_url, proxy.port),
                          storage_url=f"file://{tmp_path}/artifacts", db_timeout_seconds="1")
    proxy.close()
    async with http.get(f"{server.base}/api/components/{uuid.uuid4()}") as r:
        body = await r.text()
    assert r.status == 503 and "database unavailable" in body, body
    assert str(proxy.port) not in body and "127.0.0.1" not in body and "Error" not in body, body


async def test_random_artifact_misses_are_remembered_instead_of_read_from_storage_each_time(
        spawn_server, tmp_path: Path, http: aiohttp.ClientSession) -> None:  # type: ignore[no-untyped-def]
    server = spawn_server(database_url=f"sqlite:///{tmp_path}/proxy.sqlite3",
                          storage_url=f"file://{tmp_path}/artifacts")

    async def storage_misses() -> float:
        async with http.get(f"{server.base}/metrics") as r:
            text = await r.text()
        prefix = 'artifact_proxy_cache_lookups_total{kind="artifact",result="miss",tier="storage"}'
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix))

    hashes = [secrets.token_hex(8) for _ in range(5)]
    before = await storage_misses()
    for _ in range(20):
        for h in hashes:
            async with http.get(f"{server.base}/components/{h}.js") as r:
                assert r.status == 404
    assert await storage_misses() - before == len(hashes)  # one storage read per unknown hash, not 20
