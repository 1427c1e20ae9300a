"""The Cloudflare purger against a local HTTP server that records the purge_cache calls.

This is the one part of the edge purge NOT run against the real service: Cloudflare's API needs an
account, a zone and a token. The server below answers the way the API documents (JSON with
`success`), so what is checked is our side: the URL, the token, the tags, the batching and the retries.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from config import Settings
from proxy.edge_purge import create_edge_purge, create_purgers
from proxy.edge_purge.cloudflare import CloudflarePurger


@dataclass
class RecordingApi:
    url: str
    calls: list[tuple[str, str, list[str]]] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)  # statuses to answer before succeeding


@pytest.fixture
async def cloudflare_api(aiohttp_server) -> AsyncIterator[RecordingApi]:  # type: ignore[no-untyped-def]
    api = RecordingApi("")

    async def purge_cache(request: web.Request) -> web.Response:
        body = await request.json()
        api.calls.append((request.match_info["zone"], request.headers.get("Authorization", ""), body["tags"]))
        if api.fail_next:
            status = api.fail_next.pop(0)
            return web.json_response({"success": False, "errors": [{"code": status, "message": "nope"}]},
                                     status=status)
        return web.json_response({"success": True, "errors": [], "result": {"id": "x"}})

    app = web.Application()
    app.router.add_post("/client/v4/zones/{zone}/purge_cache", purge_cache)
    server = await aiohttp_server(app)
    api.url = str(server.make_url("/client/v4"))
    yield api


def settings_for(api: RecordingApi, **extra: object) -> Settings:
    return Settings(edge_purge="cloudflare://zone123", cloudflare_api_token="cf-token-abc",
                    cloudflare_api_url=api.url, edge_purge_delay_seconds=0.05, **extra)


async def test_keys_are_purged_by_tag_with_the_token_in_batches_of_a_hundred(cloudflare_api: RecordingApi) -> None:
    edge = create_edge_purge(settings_for(cloudflare_api), None)
    assert edge is not None
    keys = [f"scene-{n:04d}" for n in range(250)]
    edge.request(keys[:140])
    edge.request(keys[140:])
    await asyncio.sleep(0.3)
    await edge.close()
    assert [len(tags) for _, _, tags in cloudflare_api.calls] == [100, 100, 50]
    assert sorted(t for _, _, tags in cloudflare_api.calls for t in tags) == keys
    assert {(zone, auth) for zone, auth, _ in cloudflare_api.calls} == {("zone123", "Bearer cf-token-abc")}


async def test_a_refused_or_rate_limited_purge_is_retried_with_back_off(cloudflare_api: RecordingApi) -> None:
    cloudflare_api.fail_next = [429, 500]
    edge = create_edge_purge(settings_for(cloudflare_api), None)
    assert edge is not None
    edge.request(["project-a", "scene-b"])
    loop = asyncio.get_running_loop()
    start = loop.time()
    while len(cloudflare_api.calls) < 3 and loop.time() - start < 5:
        await asyncio.sleep(0.02)
    elapsed = loop.time() - start
    await edge.close()
    assert [tags for _, _, tags in cloudflare_api.calls] == [["project-a", "scene-b"]] * 3
    assert 0.5 + 1.0 <= elapsed < 4  # 0.5 s, then 1 s of back-off


async def test_the_write_does_not_wait_for_a_purger_that_hangs(aiohttp_server) -> None:  # type: ignore[no-untyped-def]
    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.json_response({"success": True})

    app = web.Application()
    app.router.add_post("/client/v4/zones/{zone}/purge_cache", hang)
    server = await aiohttp_server(app)
    edge = create_edge_purge(Settings(edge_purge="cloudflare://z", cloudflare_api_token="t" * 20,
                                      cloudflare_api_url=str(server.make_url("/client/v4")),
                                      edge_purge_delay_seconds=0, edge_purge_timeout_seconds=0.5), None)
    assert edge is not None
    loop = asyncio.get_running_loop()
    start = loop.time()
    edge.request(["scene-a"])  # what Invalidation calls inside a write
    assert loop.time() - start < 0.05  # (the hanging call takes 30 s)
    start = loop.time()  # what a write through the API waits for: at most its bound, then it goes on
    assert await edge.purge_now(["scene-b"], 0.3) is False
    assert 0.3 <= loop.time() - start < 2.0  # bounded by its wait, not by the 30 s hang
    await edge.close(seconds=0.2)


def test_a_cloudflare_purger_without_a_token_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="CLOUDFLARE_API_TOKEN"):
        create_purgers(Settings(edge_purge="cloudflare://zone123"))
    purgers = create_purgers(Settings(edge_purge="varnish://10.0.0.1:6081,cloudflare://z",
                                      cloudflare_api_token="x" * 20))
    assert [p.name for p in purgers] == ["varnish://10.0.0.1:6081", "cloudflare://z"]
    assert isinstance(purgers[1], CloudflarePurger)
