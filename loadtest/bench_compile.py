"""Compile latency through the worker pool, measured from Python the way the service calls it.

    .venv/bin/python -m loadtest.bench_compile [-n 2000] [--scene PATH] [--concurrency 1,2,4,8]

Each compile gets a unique trailing comment so no layer can answer from a cache.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

from config import Settings
from proxy.compiler.pool import CompilerPool

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SCENES = [
    ROOT / "tests/fixtures/scenes/g22_product_launch_long.tsx",  # globals style, 177 lines
    ROOT / "tests/fixtures/scenes/m13_typescript_heavy.tsx",  # module style with imports, 82 lines
]


def percentile(sorted_ms: list[float], p: float) -> float:
    return sorted_ms[min(len(sorted_ms) - 1, round(p / 100 * (len(sorted_ms) - 1)))]


def report(label: str, samples_ms: list[float], wall_s: float) -> None:
    s = sorted(samples_ms)
    print(f"{label:<34} n={len(s):<5} median={statistics.median(s):6.2f}ms p90={percentile(s, 90):6.2f}ms "
          f"p99={percentile(s, 99):6.2f}ms max={s[-1]:7.2f}ms  {len(s) / wall_s:7.0f} compiles/s")


async def run_batch(pool: CompilerPool, source: str, n: int, concurrency: int, tag: str) -> tuple[list[float], float]:
    samples: list[float] = []
    counter = iter(range(n))

    async def lane() -> None:
        for i in counter:
            text = f"{source}\n// {tag} {i}\n"
            t0 = time.perf_counter()
            await pool.compile(text)
            samples.append((time.perf_counter() - t0) * 1000)

    start = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return samples, time.perf_counter() - start


async def main(n: int, scenes: list[Path], concurrency: list[int], workers: int) -> None:
    pool = CompilerPool(Settings(compile_workers=workers, compile_queue_limit=1024))
    t0 = time.perf_counter()
    await pool.start()
    print(f"pool of {workers} workers ready in {(time.perf_counter() - t0) * 1000:.0f} ms; {pool.fingerprint}")
    try:
        for scene in scenes:
            source = scene.read_text()
            lines = source.count("\n") + 1
            await run_batch(pool, source, 200, workers, "warm")
            for c in concurrency:
                samples, wall = await run_batch(pool, source, n, c, f"c{c}")
                report(f"{scene.name} ({lines} lines) c={c}", samples, wall)
    finally:
        await pool.close()


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=2000, help="compiles per measurement")
    parser.add_argument("--scene", type=Path, action="append", help="scene file (repeatable)")
    parser.add_argument("--concurrency", default="1,2,8", help="comma-separated in-flight compiles")
    parser.add_argument("--workers", type=int, default=2, help="Settings.compile_workers")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    asyncio.run(main(args.n, args.scene or DEFAULT_SCENES, levels, args.workers))


if __name__ == "__main__":
    cli()
