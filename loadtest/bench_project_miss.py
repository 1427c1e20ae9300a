"""A warm project miss (its scenes compiled, the project's module not in this process's cache): what
it reads from the database and how long the answer takes, before and after #17's "read ids and
hashes, not sources".

    .venv/bin/python -m loadtest.bench_project_miss [-n 40] [--scenes 50] [--kb 64] [--backend all]

Both ways run in the same process on the same rows, alternating request by request:
- before: the project's full rows (`list_project`, every source) and the artifact hash of each
  source computed in Python, which is what a miss did until now;
- after: `project_heads`, whose rows carry the hash the database computed instead of the source.
"bytes" are the values the repository returned for one miss (UTF-8 text, 16 bytes per uuid, 8 per
number or time): what crossed from the database to the proxy, less the protocol's framing.
The app runs in process (aiohttp TestServer) with artifacts on the local disk, so the difference
is the database read.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from config import Settings
from core.scenes import Scene, SceneHead, SceneRepository, source_hash
from loadtest.server import backend, temp_workdir
from proxy.app import create_app
from proxy.context import CTX

TOKEN = "bench-project-miss-admin-token"  # a throwaway token for an app on loopback only
SCENE = """import {{ AbsoluteFill }} from 'remotion';
// {pad}
export default function Scene{n}() {{
  return <AbsoluteFill><h1>scene {n}</h1></AbsoluteFill>;
}}
"""


def row_bytes(row: Scene | SceneHead) -> int:
    total = 0
    for value in (getattr(row, f.name) for f in dataclasses.fields(row)):
        if isinstance(value, str):
            total += len(value.encode())
        elif isinstance(value, uuid.UUID):
            total += 16
        elif value is not None:
            total += 8
    return total


class Before:
    """The repository as a miss used it before: full rows, hashes computed here from the sources."""

    def __init__(self, repo: SceneRepository, read: list[int]) -> None:
        self.repo, self.read = repo, read

    async def project_heads(self, project_id: uuid.UUID, limit: int, fingerprint: str) -> list[SceneHead]:
        scenes = await self.repo.list_project(project_id, limit)
        self.read.append(sum(row_bytes(s) for s in scenes))
        return [SceneHead(s.id, source_hash(fingerprint, s.tsx_code), s.name, s.project_id, s.updated_at,
                          s.compiled_url, s.compiled_hash, s.compilation_error, s.order, s.duration)
                for s in scenes]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.repo, name)


class After(Before):
    async def project_heads(self, project_id: uuid.UUID, limit: int, fingerprint: str) -> list[SceneHead]:
        heads = await self.repo.project_heads(project_id, limit, fingerprint)
        self.read.append(sum(row_bytes(h) for h in heads))
        return heads


async def measure(settings: Settings, n: int, scenes: int, kb: int) -> dict[str, tuple[list[float], list[int]]]:
    app = create_app(settings)
    async with TestClient(TestServer(app)) as client:
        project = str(uuid.uuid4())
        auth = {"Authorization": f"Bearer {TOKEN}"}
        for i in range(scenes):
            code = SCENE.format(n=i, pad="x" * (kb * 1024))
            r = await client.post("/api/scenes", json={"tsxCode": code, "projectId": project}, headers=auth)
            assert r.status == 201, await r.text()
        ctx = app[CTX]
        projects = ctx.projects
        real = projects.repo
        ways: dict[str, tuple[list[float], list[int]]] = {"before": ([], []), "after": ([], [])}
        etags = set()
        for i in range(n * 2 + 2):
            name = ("before", "after")[i % 2]
            times, read = ways[name]
            projects.repo = (Before if name == "before" else After)(real, read)  # type: ignore[assignment]
            projects.cache.clear()  # a miss: the module's mapping is gone, the scenes are compiled
            started = time.perf_counter()
            r = await client.get(f"/api/projects/{project}/components", headers={"Accept-Encoding": "identity"})
            await r.read()
            elapsed = time.perf_counter() - started
            assert r.status == 200, r.status
            etags.add(r.headers["ETag"])
            if i >= 2:  # the first of each warms the process
                times.append(elapsed)
            else:
                read.clear()
        projects.repo = real
        assert len(etags) == 1, "both ways must serve the same module"
        return ways


def report(kind: str, ways: dict[str, tuple[list[float], list[int]]], scenes: int, kb: int) -> None:
    print(f"backend {kind}: warm project miss, {scenes} scenes x {kb} KB, n={len(ways['after'][0])} each")
    for name, (times, read) in ways.items():
        ms = sorted(t * 1000 for t in times)
        p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
        print(f"  {name:<7} bytes read {statistics.median(read):>10,.0f}  median {statistics.median(ms):7.2f} ms"
              f"  p95 {p95:7.2f} ms")
    before, after = (statistics.median(ways[k][0]) for k in ("before", "after"))
    print(f"  after/before latency ratio {after / before:.2f}")


def settings_of(env: dict[str, str], workdir: Path) -> Settings:
    return Settings(database_url=env["PROXY_DATABASE_URL"],
                    database_direct_url=env.get("PROXY_DATABASE_DIRECT_URL") or None,
                    storage_url=f"file://{workdir / 'artifacts'}", admin_token=TOKEN, compile_workers=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=40)
    parser.add_argument("--scenes", type=int, default=50)
    parser.add_argument("--kb", type=int, default=64)
    parser.add_argument("--backend", choices=["all", "embedded", "production", "pooled"], default="all")
    args = parser.parse_args()
    kinds = ["embedded", "production", "pooled"] if args.backend == "all" else [args.backend]
    for kind in kinds:
        workdir = temp_workdir(f"ap-bench-miss-{kind}-")
        with contextlib.ExitStack() as stack:
            be = stack.enter_context(backend(kind, workdir))
            ways = asyncio.run(measure(settings_of(be.env, workdir), args.n, args.scenes, args.kb))
        report(kind, ways, args.scenes, args.kb)


if __name__ == "__main__":
    main()
