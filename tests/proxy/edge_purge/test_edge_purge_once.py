"""Three proxy nodes sharing Redis, a real Varnish in front: every node hears each write's NOTIFY
(the product's, and our API's own, marked as ours), and the edge is purged once for it, not once per
node nor once per step of the write."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import asyncpg
import pytest

from config import Settings
from loadtest.varnish import Varnish
from tests.fixtures_cluster import SCENE, node_env
from tests.fixtures_server import TOKEN, ServerProcess, free_port

pytestmark = pytest.mark.cluster


async def pointer_at_the_edge(http: aiohttp.ClientSession, varnish: Varnish, scene_id: uuid.UUID) -> str:
    async with http.get(f"{varnish.base}/api/components/{scene_id}", allow_redirects=False) as r:
        assert r.status == 302
        return r.headers["Location"]


async def purges_sent(http: aiohttp.ClientSession, nodes: list[ServerProcess]) -> int:
    """Purges the nodes sent and Varnish accepted, summed from every node's /metrics."""
    total = 0
    for node in nodes:
        async with http.get(f"{node.base}/metrics") as r:
            for line in (await r.text()).splitlines():
                if line.startswith("artifact_proxy_edge_purges_total{") and 'outcome="ok"' in line:
                    total += int(float(line.rsplit(" ", 1)[1]))
    return total


def three_nodes_behind_varnish(spawn_server, varnish_factory,  # type: ignore[no-untyped-def]
                               shared_settings: Settings) -> tuple[Varnish, list[ServerProcess]]:
    """A Varnish whose backend is the first of three nodes; every node purges it (after 0.5 s)."""
    first = free_port()
    varnish = varnish_factory(first)
    env = node_env(shared_settings, edge_purge=varnish.purge_url, edge_purge_delay_seconds="0.5")
    return varnish, [spawn_server(port=first, **env), spawn_server(**env), spawn_server(**env)]


async def test_three_nodes_hearing_one_product_write_purge_the_edge_once(  # type: ignore[no-untyped-def]
        spawn_server, varnish_factory, shared_settings: Settings) -> None:
    varnish, nodes = three_nodes_behind_varnish(spawn_server, varnish_factory, shared_settings)
    scene_id, project_id = uuid.uuid4(), uuid.uuid4()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        async with http.post(f"{nodes[1].base}/api/scenes", headers={"Authorization": f"Bearer {TOKEN}"},
                             json={"id": str(scene_id), "projectId": str(project_id),
                                   "tsxCode": SCENE.format(n="one")}) as r:
            assert r.status == 201

        await asyncio.sleep(2.5)  # the create's own purge has gone out
        old = await pointer_at_the_edge(http, varnish, scene_id)
        bans, sent = varnish.counter("MAIN.bans_added"), await purges_sent(http, nodes)
        conn = await asyncpg.connect(shared_settings.database_url)
        try:  # the product's edit: every node hears the NOTIFY
            await conn.execute('UPDATE "bazaar-vid_scene" SET "tsxCode" = $1 WHERE id = $2',
                               SCENE.format(n="two"), scene_id)
        finally:
            await conn.close()
        loop = asyncio.get_running_loop()
        start = loop.time()
        while await pointer_at_the_edge(http, varnish, scene_id) == old:
            assert loop.time() - start < 3.0, "the edit did not reach the edge"
            await asyncio.sleep(0.02)
        await asyncio.sleep(2.5)  # anything a slower node would still send
        assert varnish.counter("MAIN.bans_added") - bans == 1
        assert await purges_sent(http, nodes) - sent == 1


async def test_three_nodes_purge_the_edge_once_for_a_write_through_the_api(  # type: ignore[no-untyped-def]
        spawn_server, varnish_factory, shared_settings: Settings) -> None:
    """Every node hears the NOTIFY of an API write too, marked as ours: the writing node purges once."""
    varnish, nodes = three_nodes_behind_varnish(spawn_server, varnish_factory, shared_settings)
    scene_id, project_id = uuid.uuid4(), uuid.uuid4()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        async def settled() -> tuple[int, int]:
            """(BANs Varnish took, purges the nodes sent), once anything a slower node would send is out."""
            await asyncio.sleep(2.5)  # five times the queue's delay: the listeners' and compiles' share
            return varnish.counter("MAIN.bans_added"), await purges_sent(http, nodes)

        bans, sent = await settled()
        async with http.post(f"{nodes[1].base}/api/scenes", headers=auth,
                             json={"id": str(scene_id), "projectId": str(project_id),
                                   "tsxCode": SCENE.format(n="one")}) as r:
            assert r.status == 201
        created = await settled()
        assert created == (bans + 1, sent + 1)
        old = await pointer_at_the_edge(http, varnish, scene_id)
        async with http.put(f"{nodes[2].base}/api/scenes/{scene_id}", headers=auth,
                            json={"tsxCode": SCENE.format(n="two")}) as r:
            assert r.status == 200
        assert await pointer_at_the_edge(http, varnish, scene_id) != old  # the PUT returned after its purge
        assert await settled() == (created[0] + 1, created[1] + 1)
