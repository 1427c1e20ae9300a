"""`python -m loadtest.bench_edge`: the proxy behind a real Varnish (ops/varnish/default.vcl).

Prints, on the production backend (PostgreSQL, S3, Redis):
1. origin requests per 1,000 views of an unchanged 10-scene project, counted from the origin's
   /metrics: without edge purging (pointers `no-cache` only, what the proxy did before) and with it
   (PROXY_EDGE_PURGE set: pointers kept by the edge, purged on writes). A view is what a player does:
   the project module (revalidated with If-None-Match after the first) and the 10 scene redirects.
2. time from an edit (through the proxy's API, and by the product's own SQL) to the edge serving the
   new pointer;
3. a purge lost while Varnish is down is retried (failed and ok purges from /metrics), and with
   purges refused for good the old pointer lasts at most PROXY_EDGE_MAX_STALE_SECONDS;
4. three nodes sharing Redis, each hearing the product's writes: BANs Varnish received per write.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import time
import uuid
from pathlib import Path

import aiohttp
import asyncpg

from loadtest.server import TOKEN, ServerProcess, backend, server_env, temp_workdir
from loadtest.varnish import Varnish, start_varnish

SCENE = "import {{AbsoluteFill}} from 'remotion';\nexport default () => <AbsoluteFill><h1>{}</h1></AbsoluteFill>;\n"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TABLE = '"bazaar-vid_scene"'
REQUESTS = re.compile(r'^artifact_proxy_request_duration_seconds_count\{route="([^"]+)",status="\d+"\} ([0-9.e+]+)$',
                      re.M)


async def origin_requests(http: aiohttp.ClientSession, bases: list[str]) -> int:
    total = 0
    for base in bases:
        async with http.get(f"{base}/metrics") as r:
            total += sum(int(float(n)) for route, n in REQUESTS.findall(await r.text()) if route != "/metrics")
    return total


async def metric_sum(http: aiohttp.ClientSession, bases: list[str], prefix: str) -> float:
    total = 0.0
    for base in bases:
        async with http.get(f"{base}/metrics") as r:
            for line in (await r.text()).splitlines():
                if line.startswith(prefix):
                    total += float(line.rsplit(" ", 1)[1])
    return total


async def create_project(http: aiohttp.ClientSession, base: str, scenes: int,
                         tag: str) -> tuple[uuid.UUID, list[uuid.UUID]]:
    project = uuid.uuid4()
    ids = []
    for n in range(scenes):
        scene_id = uuid.uuid4()
        async with http.post(f"{base}/api/scenes", headers=AUTH, json={
                "id": str(scene_id), "projectId": str(project), "tsxCode": SCENE.format(f"{tag} {n}")}) as r:
            assert r.status == 201, await r.text()
        ids.append(scene_id)
    return project, ids


async def location(http: aiohttp.ClientSession, base: str, scene_id: uuid.UUID) -> str:
    async with http.get(f"{base}/api/components/{scene_id}", allow_redirects=False) as r:
        await r.read()
        return r.headers.get("Location", str(r.status))


async def views(http: aiohttp.ClientSession, edge: str, project: uuid.UUID, scenes: list[uuid.UUID],
                count: int, concurrency: int = 8) -> None:
    etag: dict[str, str] = {}

    async def one_view() -> None:
        headers = {"If-None-Match": etag["v"]} if "v" in etag else {}
        async with http.get(f"{edge}/api/projects/{project}/components", headers=headers) as r:
            await r.read()
            assert r.status in (200, 304), r.status
            etag.setdefault("v", r.headers["ETag"])
        for scene_id in scenes:
            async with http.get(f"{edge}/api/components/{scene_id}", allow_redirects=False) as r:
                assert r.status == 302, r.status

    await one_view()
    queue = iter(range(count - 1))

    async def worker() -> None:
        for _ in queue:
            await one_view()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def until_moved(http: aiohttp.ClientSession, edge: str, scene_id: uuid.UUID, old: str,
                      give_up: float = 30.0) -> float:
    start = time.perf_counter()
    while await location(http, edge, scene_id) == old:
        if time.perf_counter() - start > give_up:
            return float("inf")
        await asyncio.sleep(0.005)
    return time.perf_counter() - start


def summary(times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"median {statistics.median(ms):7.1f} ms  p95 {p95:7.1f} ms  max {ms[-1]:7.1f} ms (n={len(ms)})"


def start_node(env: dict[str, str], workdir: Path, name: str, port: int = 0) -> ServerProcess:
    return ServerProcess(env, 1, port=port, log_path=workdir / f"{name}.log").start()


async def phase_views(http: aiohttp.ClientSession, node: ServerProcess, varnish: Varnish, views_n: int,
                      tag: str) -> int:
    project, scenes = await create_project(http, node.base, 10, tag)
    await asyncio.sleep(1.0)  # the creates' own purges have landed
    before = await origin_requests(http, [node.base])
    await views(http, varnish.base, project, scenes, views_n)
    return await origin_requests(http, [node.base]) - before


async def phase_edits(http: aiohttp.ClientSession, node: ServerProcess, varnish: Varnish, dsn: str,
                      edits: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"API edit (PUT) to edge": [], "product SQL edit to edge": []}
    _, scenes = await create_project(http, node.base, 1, "edit")
    scene_id = scenes[0]
    await asyncio.sleep(1.0)
    conn = await asyncpg.connect(dsn)
    try:
        for n in range(edits):
            await asyncio.sleep(1.0)  # the previous edit's delayed purges have all landed
            old = await location(http, varnish.base, scene_id)
            start = time.perf_counter()
            async with http.put(f"{node.base}/api/scenes/{scene_id}", headers=AUTH,
                                json={"tsxCode": SCENE.format(f"api edit {n}")}) as r:
                assert r.status == 200
            await until_moved(http, varnish.base, scene_id, old)
            out["API edit (PUT) to edge"].append(time.perf_counter() - start)  # the PUT's compile included
            await asyncio.sleep(1.0)
            old = await location(http, varnish.base, scene_id)
            await conn.execute(f'UPDATE {TABLE} SET "tsxCode" = $1 WHERE id = $2', SCENE.format(f"sql edit {n}"),
                               scene_id)
            out["product SQL edit to edge"].append(await until_moved(http, varnish.base, scene_id, old))
    finally:
        await conn.close()
    return out


async def phase_lost_purge(http: aiohttp.ClientSession, node: ServerProcess, varnish: Varnish,
                           max_stale: int) -> dict[str, str]:
    out: dict[str, str] = {}
    purges = "artifact_proxy_edge_purges_total{"
    _, scenes = await create_project(http, node.base, 1, "lost")
    scene_id = scenes[0]
    await asyncio.sleep(1.0)
    # (a) Varnish down during the edit: the purge fails, is retried, and lands once Varnish is back
    failed0 = await metric_sum(http, [node.base], purges + 'outcome="failed"')
    ok0 = await metric_sum(http, [node.base], purges + 'outcome="ok"')
    varnish.stop()
    async with http.put(f"{node.base}/api/scenes/{scene_id}", headers=AUTH, json={"tsxCode": SCENE.format("down")}):
        pass
    await asyncio.sleep(2.0)
    varnish.start()
    start = time.perf_counter()
    for _ in range(600):  # up to 30 s
        if await metric_sum(http, [node.base], purges + 'outcome="ok"') > ok0:
            break
        await asyncio.sleep(0.05)
    failed = await metric_sum(http, [node.base], purges + 'outcome="failed"') - failed0
    out["Varnish down 2 s during an edit"] = (f"{failed:.0f} failed purge calls, then the retry landed "
                                              f"{time.perf_counter() - start:.2f} s after Varnish was back")
    # (b) purges refused for good (the ACL): the old pointer lasts at most the edge TTL
    old = await location(http, varnish.base, scene_id)
    cached = time.perf_counter()
    varnish.use_purgers()
    async with http.put(f"{node.base}/api/scenes/{scene_id}", headers=AUTH, json={"tsxCode": SCENE.format("acl")}):
        pass
    await until_moved(http, varnish.base, scene_id, old, give_up=max_stale * 3)
    out[f"purges refused for good, edge TTL {max_stale} s"] = (
        f"old pointer served {time.perf_counter() - cached:.2f} s after it was cached")
    varnish.use_purgers("127.0.0.1", "::1")
    return out


async def phase_cluster(http: aiohttp.ClientSession, nodes: list[ServerProcess], varnish: Varnish, dsn: str,
                        writes: int) -> dict[str, str]:
    bases = [n.base for n in nodes]
    _, scenes = await create_project(http, bases[0], 1, "cluster")
    scene_id = scenes[0]
    await asyncio.sleep(1.5)
    bans0 = varnish.counter("MAIN.bans_added")
    ok0 = await metric_sum(http, bases, 'artifact_proxy_edge_purges_total{outcome="ok"')
    coalesced0 = await metric_sum(http, bases, 'artifact_proxy_edge_purge_keys_total{outcome="coalesced"')
    times = []
    conn = await asyncpg.connect(dsn)
    try:
        for n in range(writes):
            old = await location(http, varnish.base, scene_id)
            start = time.perf_counter()
            await conn.execute(f'UPDATE {TABLE} SET "tsxCode" = $1 WHERE id = $2', SCENE.format(f"node {n}"),
                               scene_id)
            await until_moved(http, varnish.base, scene_id, old)
            times.append(time.perf_counter() - start)
            await asyncio.sleep(1.0)  # let every node's late requests for this write arrive
    finally:
        await conn.close()
    bans = varnish.counter("MAIN.bans_added") - bans0
    ok = await metric_sum(http, bases, 'artifact_proxy_edge_purges_total{outcome="ok"') - ok0
    coalesced = await metric_sum(http, bases, 'artifact_proxy_edge_purge_keys_total{outcome="coalesced"') - coalesced0
    # API writes, each through the next node; every node hears its NOTIFY (marked as ours)
    api_bans0, api_ok0 = varnish.counter("MAIN.bans_added"), ok0 + ok
    api_times = []
    for n in range(writes):
        old = await location(http, varnish.base, scene_id)
        start = time.perf_counter()
        async with http.put(f"{bases[n % len(bases)]}/api/scenes/{scene_id}", headers=AUTH,
                            json={"tsxCode": SCENE.format(f"api node {n}")}) as r:
            assert r.status == 200
        await until_moved(http, varnish.base, scene_id, old)
        api_times.append(time.perf_counter() - start)
        await asyncio.sleep(1.0)
    api_bans = varnish.counter("MAIN.bans_added") - api_bans0
    api_ok = await metric_sum(http, bases, 'artifact_proxy_edge_purges_total{outcome="ok"') - api_ok0
    return {"BANs received by Varnish per write": f"{bans / writes:.2f} ({bans} for {writes} writes; "
                                                  f"{ok:.0f} purge calls, {coalesced:.0f} key requests coalesced)",
            "product SQL edit to edge (3 nodes)": summary(times),
            "BANs per API write (PUT through each node in turn)": f"{api_bans / writes:.2f} ({api_bans} for "
                                                                   f"{writes} writes; {api_ok:.0f} purge calls)",
            "API edit (PUT) to edge (3 nodes)": summary(api_times)}


async def run(args: argparse.Namespace, workdir: Path, backend_env: dict[str, str]) -> None:
    dsn = backend_env.get("PROXY_DATABASE_DIRECT_URL") or backend_env["PROXY_DATABASE_URL"]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        # 1. before: the same Varnish, pointers no-cache only
        node = start_node(server_env(backend_env), workdir, "before")
        varnish = start_varnish(node.port)
        try:
            before = await phase_views(http, node, varnish, args.views, "before")
        finally:
            varnish.close()
            node.stop()
        # 1, 2, 3. after: purged edge
        from loadtest.pgbouncer import free_port

        port = free_port()
        varnish = start_varnish(port)
        env = server_env(backend_env, PROXY_EDGE_PURGE=varnish.purge_url)  # the default edge TTL
        node = start_node(env, workdir, "after", port)
        try:
            after = await phase_views(http, node, varnish, args.views, "after")
            print(f"origin requests (from its /metrics) for {args.views} views of a 10-scene project "
                  "(11 requests a view) through Varnish:")
            print(f"  before (pointers no-cache, no purge): {before:6d}")
            print(f"  after  (edge-cached, purged):         {after:6d}")
            for name, times in (await phase_edits(http, node, varnish, dsn, args.edits)).items():
                print(f"{name:34s} {summary(times)}")
        finally:
            varnish.close()
            node.stop()
        # 3. a short edge TTL, to see it bound a lost purge
        port = free_port()
        varnish = start_varnish(port)
        env = server_env(backend_env, PROXY_EDGE_PURGE=varnish.purge_url,
                         PROXY_EDGE_MAX_STALE_SECONDS=str(args.max_stale))
        node = start_node(env, workdir, "lost", port)
        try:
            for name, text in (await phase_lost_purge(http, node, varnish, args.max_stale)).items():
                print(f"{name}: {text}")
        finally:
            varnish.close()
            node.stop()
        # 4. three nodes, one Redis
        port = free_port()
        varnish = start_varnish(port)
        env = server_env(backend_env, PROXY_EDGE_PURGE=varnish.purge_url)
        nodes = [start_node(env, workdir, "cluster0", port), start_node(env, workdir, "cluster1"),
                 start_node(env, workdir, "cluster2")]
        try:
            for name, text in (await phase_cluster(http, nodes, varnish, dsn, args.writes)).items():
                print(f"{name}: {text}")
        finally:
            varnish.close()
            for n in nodes:
                n.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m loadtest.bench_edge", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--views", type=int, default=1000)
    p.add_argument("--edits", type=int, default=20)
    p.add_argument("--writes", type=int, default=20, help="product writes in the 3-node phase")
    p.add_argument("--max-stale", type=int, default=5, help="PROXY_EDGE_MAX_STALE_SECONDS for the lost purge")
    args = p.parse_args(argv)
    workdir = temp_workdir("ap-bench-edge-")
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo
                if line.startswith("model name")), "unknown CPU")
    cores = sum(1 for line in cpuinfo if line.startswith("processor"))
    print(f"host: {cpu}, {cores} cores; Varnish 7 with ops/varnish/default.vcl; backend production")
    with backend("production", workdir) as be:
        asyncio.run(run(args, workdir, be.env))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
