"""Many processes, one compile; an edit anywhere is seen everywhere; corrupt copies are repaired."""

from __future__ import annotations

import asyncio
import time
import uuid

import aiohttp
import boto3
import pytest
import redis

from core.artifact import unseal
from proxy.compiler import create_compiler
from proxy.db import create_repository
from tests.fixtures_cluster import ClusterEnv, node_env
from tests.fixtures_server import ServerProcess

pytestmark = pytest.mark.cluster

BUILT = 'artifact_proxy_project_bundles_total{outcome="built"}'


async def test_300_concurrent_misses_over_3_nodes_compile_each_scene_exactly_once(cluster: ClusterEnv) -> None:
    before = await cluster.compiles()
    ids = await cluster.insert_uncompiled(10)  # each insert also NOTIFYs every node: a background compile races
    requests = [(cluster.nodes[i % 3], ids[i % 10]) for i in range(300)]
    locations = await asyncio.gather(*(cluster.location(node, sid) for node, sid in requests))
    per_scene: dict[object, set[str]] = {}
    for (_, sid), loc in zip(requests, locations, strict=True):
        per_scene.setdefault(sid, set()).add(loc)
    assert all(len(locs) == 1 for locs in per_scene.values()), per_scene
    assert await cluster.compiles() - before == 10


async def test_concurrent_project_requests_over_3_nodes_build_its_module_once(cluster: ClusterEnv) -> None:
    project = uuid.uuid4()
    compiles, built = await cluster.compiles(), await cluster.counter_total(BUILT)
    await cluster.insert_uncompiled(5, "project", project_id=project)

    async def fetch(i: int) -> tuple[str, bytes]:
        node = cluster.nodes[i % 3]
        async with cluster.http.get(f"{node.base}/api/projects/{project}/components") as r:
            assert r.status == 200 and r.headers["X-Scene-Count"] == "5", (r.status, await r.text())
            return r.headers["ETag"], await r.read()

    answers = set(await asyncio.gather(*(fetch(i) for i in range(60))))
    assert len(answers) == 1, [etag for etag, _ in answers]  # one module, byte for byte, from every node
    assert await cluster.compiles() - compiles == 5
    assert await cluster.counter_total(BUILT) - built == 1
    etag, body = answers.pop()
    assert b"scene number 4project" in body
    for node in cluster.nodes:  # every node serves the one stored module, immutable too
        async with cluster.http.get(f"{node.base}/components/{etag.strip(chr(34))}.js") as r:
            assert r.status == 200 and await r.read() == body


async def test_an_edit_on_one_node_is_served_by_the_others_within_100ms(cluster: ClusterEnv) -> None:
    a, b, c = cluster.nodes
    (sid,) = await cluster.insert_uncompiled(1)
    old = await cluster.location(a, sid)
    assert await cluster.location(b, sid) == old and await cluster.location(c, sid) == old  # cached on B, C
    new_code = "export default function Edited() { return <h1>edited</h1>; }\n"
    async with cluster.http.put(f"{a.base}/api/scenes/{sid}", json={"tsxCode": new_code},
                                headers={"Authorization": "Bearer test-admin-token"}) as r:
        new_hash = (await r.json())["compiledHash"]
    edited_at = time.monotonic()
    seen: dict[int, float] = {}
    while len(seen) < 2 and time.monotonic() - edited_at < 2.0:
        for i, node in enumerate((b, c)):
            if i not in seen and (await cluster.location(node, sid)).endswith(f"{new_hash}.js"):
                seen[i] = time.monotonic() - edited_at
    assert len(seen) == 2, "an edit never reached the other nodes"
    assert max(seen.values()) < 0.1, seen


async def test_a_project_module_follows_an_edit_on_another_node_within_100ms(cluster: ClusterEnv) -> None:
    a, b, c = cluster.nodes
    project = uuid.uuid4()
    (sid,) = await cluster.insert_uncompiled(1, "watched", project_id=project)

    async def etag(node: ServerProcess) -> str:
        async with cluster.http.get(f"{node.base}/api/projects/{project}/components") as r:
            assert r.status == 200, await r.text()
            return r.headers["X-Artifact-Hash"]

    old = await etag(a)
    assert await etag(b) == old and await etag(c) == old  # now in L1 on every node (TTL 60 s)
    edit = {"tsxCode": "export default function P() { return <h1>project edit</h1>; }\n"}
    async with cluster.http.put(f"{a.base}/api/scenes/{sid}", headers={"Authorization": "Bearer test-admin-token"},
                                json=edit) as r:
        assert r.status == 200
    new = await etag(a)
    assert new != old
    edited_at = time.monotonic()
    seen: dict[int, float] = {}
    while len(seen) < 2 and time.monotonic() - edited_at < 2.0:
        for i, node in enumerate((b, c)):
            if i not in seen and await etag(node) == new:
                seen[i] = time.monotonic() - edited_at
    assert len(seen) == 2, "the edit never reached the other nodes' project modules"
    assert max(seen.values()) < 0.1, seen


async def test_a_corrupt_object_in_s3_is_detected_and_repaired(cluster: ClusterEnv, spawn_server) -> None:  # type: ignore[no-untyped-def]
    (sid,) = await cluster.insert_uncompiled(1)
    url = await cluster.location(cluster.nodes[0], sid)
    hash = url.rsplit("/", 1)[1][:-3]
    s = cluster.settings
    bucket, _, prefix = s.storage_url.removeprefix("s3://").partition("/")
    s3 = boto3.client("s3", endpoint_url=s.s3_endpoint_url)
    key = f"{prefix}/{hash}.js"
    good = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    s3.put_object(Bucket=bucket, Key=key, Body=good.replace(b"scene number", b"pwned number"))
    redis.Redis.from_url(s.redis_url or "").delete(f"{s.redis_key_prefix}a:{hash}")  # force the read to S3
    fresh = spawn_server(**node_env(s))  # an empty L1
    async with cluster.http.get(f"{fresh.base}/components/{hash}.js") as r:
        body = await r.read()
    assert r.status == 200 and body == good
    assert unseal(s3.get_object(Bucket=bucket, Key=key)["Body"].read()) is not None
    async with cluster.http.get(f"{fresh.base}/metrics") as r:
        assert 'artifact_proxy_integrity_failures_total{tier="storage"} 1.0' in await r.text()


async def test_a_corrupt_copy_in_redis_is_a_miss_not_an_answer(cluster: ClusterEnv, spawn_server) -> None:  # type: ignore[no-untyped-def]
    (sid,) = await cluster.insert_uncompiled(1)
    hash = (await cluster.location(cluster.nodes[0], sid)).rsplit("/", 1)[1][:-3]
    # the insert's notification starts a background compile on every node: let those settle, so the
    # node started below is the only reader of what follows
    await asyncio.sleep(1.5)
    s = cluster.settings
    client = redis.Redis.from_url(s.redis_url or "")
    good = client.get(f"{s.redis_key_prefix}a:{hash}")
    assert good is not None
    client.set(f"{s.redis_key_prefix}a:{hash}", good[:-10] + b"0123456789")
    fresh = spawn_server(**node_env(s, database_listen="false"))  # no start-up re-read of recent writes
    async with cluster.http.get(f"{fresh.base}/components/{hash}.js", headers={"Accept-Encoding": "identity"}) as r:
        assert r.status == 200 and await r.read() == good
    async with cluster.http.get(f"{fresh.base}/metrics") as r:
        assert 'artifact_proxy_integrity_failures_total{tier="l2"} 1.0' in await r.text()
    assert client.get(f"{s.redis_key_prefix}a:{hash}") == good  # and Redis holds a good copy again


async def test_a_crashed_leader_blocks_others_no_longer_than_its_lease(spawn_server, shared_settings) -> None:  # type: ignore[no-untyped-def]
    """A leader that died holds a lease nobody renews or releases: exactly what is left in Redis."""
    node = spawn_server(**node_env(shared_settings, lease_ttl_seconds="2"))
    repo = create_repository(shared_settings)
    await repo.migrate()
    try:
        sid = uuid.uuid4()
        code = "export default function Orphan() { return <h1>orphaned lease</h1>; }\n"
        await repo.create(sid, code, None, uuid.uuid4())
        # the hash this code compiles to, as the dead leader would have locked it
        hash = create_compiler(shared_settings).hash_of(code)
        client = redis.Redis.from_url(shared_settings.redis_url)
        client.set(f"{shared_settings.redis_key_prefix}lease:{hash}", "dead-leader", px=2000)
        started = time.monotonic()
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{node.base}/api/components/{sid}", allow_redirects=False) as r:
                assert r.status == 302 and r.headers["Location"].endswith(f"{hash}.js")
        waited = time.monotonic() - started
        assert 1.0 < waited < 2.0 + 1.5, waited  # it did wait for the lease, and not much longer
    finally:
        await repo.close()
