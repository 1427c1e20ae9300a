"""Pointers cached by a real Varnish running ops/varnish/default.vcl, purged by the proxy on every write."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
import pytest

from config import Settings
from tests.proxy.edge_purge.conftest import SCENE, Edge

SCENE_ROUTE = "/api/components/{scene_id}"
PROJECT_ROUTE = "/api/projects/{project_id}/components"


async def test_views_of_an_unchanged_project_are_served_by_the_edge(edge: Edge) -> None:
    project = uuid.uuid4()
    scenes = [await edge.create(f"view {n}", project) for n in range(3)]
    for _ in range(20):
        for scene_id in scenes:
            r = await edge.view(scene_id)
            assert r.status == 302
            assert r.headers["Cache-Control"] == "no-cache"  # browsers still revalidate every view
            assert "Surrogate-Key" not in r.headers and "Surrogate-Control" not in r.headers
        r = await edge.project(project)
        assert r.status == 200 and r.headers["Cache-Control"] == "no-cache"
    assert r.headers["X-Cache"] == "HIT"
    assert await edge.origin_requests(SCENE_ROUTE, "302") == 3  # one per pointer, the first view
    assert await edge.origin_requests(PROJECT_ROUTE, "200") == 1
    # a browser's revalidation of the project module is answered by the edge
    again = await edge.project(project, **{"If-None-Match": r.headers["ETag"]})
    assert again.status == 304
    assert await edge.origin_requests(PROJECT_ROUTE, "304") == 0


async def test_the_next_view_through_the_edge_after_an_edit_returns_is_the_new_one(edge: Edge) -> None:
    project = uuid.uuid4()
    scene_id = await edge.create("before the edit", project)
    old = (await edge.view(scene_id)).headers["Location"]
    old_etag = (await edge.project(project)).headers["ETag"]
    assert (await edge.view(scene_id)).headers["X-Cache"] == "HIT"
    await edge.edit(scene_id, "after the edit")  # the PUT returns once the edge confirmed the purge
    assert (await edge.view(scene_id)).headers["Location"] != old
    assert (await edge.project(project)).headers["ETag"] != old_etag
    new = (await edge.view(scene_id)).headers["Location"]
    async with edge.http.get(edge.origin.base + SCENE_ROUTE.format(scene_id=scene_id),
                             allow_redirects=False) as direct:
        assert direct.headers["Location"] == new


async def test_a_product_write_to_the_table_purges_the_edge(edge: Edge, pg_settings: Settings) -> None:
    project = uuid.uuid4()
    scene_id = await edge.create("written by the proxy", project)
    old = (await edge.view(scene_id)).headers["Location"]
    conn = await asyncpg.connect(pg_settings.database_url)
    try:  # the product's own edit tool: a plain UPDATE, seen through the NOTIFY trigger
        await conn.execute('UPDATE "bazaar-vid_scene" SET "tsxCode" = $1, "updatedAt" = now() WHERE id = $2',
                           SCENE.format(text="written by the product"), scene_id)
    finally:
        await conn.close()

    async def moved() -> bool:
        return (await edge.view(scene_id)).headers["Location"] != old

    assert await edge.until(moved, 2.0) < 2.0


async def test_errors_and_error_modules_stay_out_of_the_edge(edge: Edge) -> None:
    unknown = uuid.uuid4()
    for _ in range(3):
        assert (await edge.view(unknown)).status == 404
    assert await edge.origin_requests(SCENE_ROUTE, "404") == 3
    broken = await edge.create("x", uuid.uuid4())
    conn_code = "export default function X() { return <div>; }\n"
    async with edge.http.put(f"{edge.origin.base}/api/scenes/{broken}", json={"tsxCode": conn_code},
                             headers={"Authorization": "Bearer test-admin-token"}) as r:
        assert r.status == 200
    # it has a last good artifact: the redirect with X-Compilation-Error is a stable, cacheable answer
    first = await edge.view(broken)
    assert first.status == 302 and "X-Compilation-Error" in first.headers
    never = uuid.uuid4()
    async with edge.http.post(f"{edge.origin.base}/api/scenes", json={"id": str(never), "tsxCode": conn_code},
                              headers={"Authorization": "Bearer test-admin-token"}) as r:
        assert r.status == 201
    for _ in range(3):  # never compiled: the error module (no-store) reaches the origin every time
        r = await edge.view(never)
        assert r.status == 200 and r.headers["Cache-Control"] == "no-store" and r.headers["X-Cache"] == "MISS"
    assert await edge.origin_requests(SCENE_ROUTE, "200") == 3


async def test_purges_from_a_refused_address_are_retried_until_they_land(edge_factory) -> None:  # type: ignore[no-untyped-def]
    edge: Edge = await edge_factory(edge_max_stale_seconds="30")
    scene_id = await edge.create("before", uuid.uuid4())
    old = (await edge.view(scene_id)).headers["Location"]
    edge.varnish.use_purgers()  # the ACL refuses the proxy: every BAN is a 403
    await edge.edit(scene_id, "after")
    await asyncio.sleep(1.0)
    assert (await edge.view(scene_id)).headers["Location"] == old  # the edge was not purged...
    purges = 'artifact_proxy_edge_purges_total{{outcome="{}",purger="varnish"}}'
    assert await edge.metric(purges.format("failed")) >= 1
    edge.varnish.use_purgers("127.0.0.1")  # ...until the proxy is allowed again: the retry lands

    async def moved() -> bool:
        return (await edge.view(scene_id)).headers["Location"] != old

    await edge.until(moved, 8.0)
    assert await edge.metric(purges.format("ok")) >= 1


async def test_a_purge_lost_for_good_leaves_the_old_pointer_at_most_the_edge_ttl(edge_factory) -> None:  # type: ignore[no-untyped-def]
    edge: Edge = await edge_factory(edge_max_stale_seconds="3")
    scene_id = await edge.create("before", uuid.uuid4())
    old = (await edge.view(scene_id)).headers["Location"]
    cached_at = asyncio.get_running_loop().time()
    edge.varnish.use_purgers()  # every purge refused, for good
    await edge.edit(scene_id, "after")

    async def moved() -> bool:
        return (await edge.view(scene_id)).headers["Location"] != old

    await edge.until(moved, 5.0)
    assert asyncio.get_running_loop().time() - cached_at <= 3.0 + 0.5
    await asyncio.sleep(3.5)  # retries stop once the TTL has passed: counted as expired, not forever
    assert await edge.metric('artifact_proxy_edge_purge_keys_total{outcome="expired"}') >= 1


async def test_artifacts_stay_at_the_edge_strong_etag_and_gzip_kept(edge: Edge) -> None:
    scene_id = await edge.create("artifact", uuid.uuid4())
    url = edge.varnish.base + (await edge.view(scene_id)).headers["Location"]
    for _ in range(2):
        async with edge.http.get(url, skip_auto_headers=["Accept-Encoding"]) as plain:
            assert plain.status == 200 and "Content-Encoding" not in plain.headers
            assert plain.headers["ETag"].startswith('"')  # not weakened by a gunzip at the edge
            assert "immutable" in plain.headers["Cache-Control"]
        async with edge.http.get(url, headers={"Accept-Encoding": "gzip"}, auto_decompress=False) as gz:
            assert gz.headers["Content-Encoding"] == "gzip"
        async with edge.http.get(url, headers={"If-None-Match": plain.headers["ETag"]}) as again:
            assert again.status == 304
    assert plain.headers["X-Cache"] == "HIT" and gz.headers["X-Cache"] == "HIT"
    bans = edge.varnish.counter("MAIN.bans_added")
    await edge.edit(scene_id, "another")  # a purge of the scene's pointers leaves its artifacts alone
    async with edge.http.get(url, skip_auto_headers=["Accept-Encoding"]) as after:
        assert after.headers["X-Cache"] == "HIT"
    assert edge.varnish.counter("MAIN.bans_added") > bans


async def test_the_edge_takes_purges_by_url_and_by_key_only_from_allowed_addresses(edge: Edge) -> None:
    scene_id = await edge.create("purge by url", uuid.uuid4())
    path = f"/api/components/{scene_id}"
    await edge.view(scene_id)
    assert (await edge.view(scene_id)).headers["X-Cache"] == "HIT"
    async with edge.http.request("PURGE", edge.varnish.base + path) as r:
        assert r.status == 200
    assert (await edge.view(scene_id)).headers["X-Cache"] == "MISS"
    async with edge.http.request("BAN", edge.varnish.base + "/", headers={"X-Purge-Keys": "scene-x) | (.*"}) as r:
        assert r.status == 400  # keys are [a-z0-9-]: nothing can widen the ban
    edge.varnish.use_purgers()  # this address is no longer allowed
    async with edge.http.request("PURGE", edge.varnish.base + path) as r:
        assert r.status == 403
    async with edge.http.request("BAN", edge.varnish.base + "/",
                                 headers={"X-Purge-Keys": f"scene-{scene_id}"}) as r:
        assert r.status == 403
    assert (await edge.view(scene_id)).headers["X-Cache"] == "HIT"


@pytest.mark.parametrize("database", ["postgres", "sqlite"])
async def test_an_api_write_purges_the_edge_exactly_once(edge_factory, database: str,  # type: ignore[no-untyped-def]
                                                         tmp_path: Path) -> None:
    """With the trigger and its listener (PostgreSQL: the write's NOTIFY echo is heard) and without
    them (SQLite): one BAN per create and per edit, and the edit is at the edge when the PUT returns."""
    settings = {"database_url": f"sqlite:///{tmp_path / 'edge.sqlite3'}"} if database == "sqlite" else {}
    edge = await edge_factory(**settings)
    ok = 'artifact_proxy_edge_purges_total{outcome="ok",purger="varnish"}'

    async def settled() -> tuple[int, float]:
        await asyncio.sleep(1.0)  # well past the queue's 0.1 s delay and the NOTIFY echo
        return edge.varnish.counter("MAIN.bans_added"), await edge.metric(ok)

    bans, sent = await settled()
    scene_id = await edge.create("purged once", uuid.uuid4())
    after_create = await settled()
    assert after_create == (bans + 1, sent + 1)
    old = (await edge.view(scene_id)).headers["Location"]
    assert (await edge.view(scene_id)).headers["X-Cache"] == "HIT"

    await edge.edit(scene_id, "purged once, edited")

    assert (await edge.view(scene_id)).headers["Location"] != old  # the one purge came first
    assert await settled() == (after_create[0] + 1, after_create[1] + 1)
