"""A project's module after an edit: the old esbuild bundle vs the assembly that replaced it, paired
on the same stored artifacts, and the full answer of the real app after each edit.

    .venv/bin/python -m loadtest.bench_project [-n 80] [--scenes 10]

In process (SQLite + a local artifact directory, one compiler worker); no network between the
client and the app, so the figures are the server's own cost.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from config import Settings
from proxy.app import create_app
from proxy.context import CTX
from proxy.project_module import ScenePart, assemble

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-project-admin-token"  # a throwaway token for an app that listens on loopback only


def percentile(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def line(label: str, seconds: list[float]) -> str:
    ms = [x * 1000 for x in seconds]
    return (f"{label:<46} n={len(ms):<4} median={statistics.median(ms):7.2f}ms p95={percentile(ms, 95):7.2f}ms "
            f"p99={percentile(ms, 99):7.2f}ms")


async def main(n: int, count: int) -> None:
    sources = sorted((ROOT / "tests/fixtures/scenes").glob("*.tsx"))[:count]
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{tmp}/p.sqlite3", storage_url=f"file://{tmp}/artifacts",
                            admin_token=TOKEN, compile_workers=1)
        app = create_app(settings)
        async with TestClient(TestServer(app)) as client:
            project = str(uuid.uuid4())
            ids = []
            for path in sources:
                r = await client.post("/api/scenes", json={"tsxCode": path.read_text(), "projectId": project},
                                      headers=auth)
                ids.append((await r.json())["id"])
            c = app[CTX]
            parts: list[ScenePart] = []
            for sid in ids:
                scene = await c.repo.get(uuid.UUID(sid))
                assert scene is not None and scene.compiled_hash is not None
                artifact = await c.tiers.get(scene.compiled_hash)
                assert artifact is not None
                parts.append(ScenePart(sid, artifact.identity, c.service.url_for(scene.compiled_hash)))
            bundled, assembled = [], []
            for _ in range(n):
                started = time.perf_counter()
                await c.compiler.bundle([(p.scene_id, p.code) for p in parts])
                bundled.append(time.perf_counter() - started)
                started = time.perf_counter()
                assemble(parts)
                assembled.append(time.perf_counter() - started)
            print(line(f"esbuild bundle of {len(parts)} artifacts (before)", bundled))
            print(line(f"assembly of {len(parts)} artifacts (now)", assembled))
            full = []
            for i in range(n):
                path = sources[i % len(sources)]
                await client.put(f"/api/scenes/{ids[i % len(ids)]}",
                                 json={"tsxCode": f"{path.read_text()}\n// edit {i}\n"}, headers=auth)
                started = time.perf_counter()
                r = await client.get(f"/api/projects/{project}/components", headers={"Accept-Encoding": "identity"})
                await r.read()
                full.append(time.perf_counter() - started)
                assert r.status == 200, r.status
            print(line("full project answer after an edit", full))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=80)
    parser.add_argument("--scenes", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(main(args.n, args.scenes))
