"""RSS of one worker after serving N distinct artifacts with the default L1 budget.

The artifacts are realistic compiled modules (the long product-launch scene, ~6.6 KB, plus a unique
comment each), sealed and written straight into the server's storage (compiling 10,000 scenes
would measure the compiler, not the cache); every one is then requested once through
GET /components/<hash>.js, which fills L1 (identity + gzip + br) and evicts beyond the budget.

Verdict: peak RSS - RSS at idle (after start-up and one warm request) <= l1_max_bytes + OVERHEAD_MIB.
The overhead covers what the budget does not count: the LRU's dict and Artifact objects, the
allocator's retained free memory after evictions, and transient buffers (brotli, aiohttp, reading
from storage).

    python -m loadtest.bench_memory [--artifacts 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any

from loadtest.promtext import Metrics
from loadtest.server import SCENES_DIR, ServerProcess, backend, create_compiled, server_env, temp_workdir

MIB = 1024 * 1024
OVERHEAD_MIB = 32


def run_memory_bench(workdir: Path, out_dir: Path, artifacts: int = 10_000, concurrency: int = 4) -> dict[str, Any]:
    import psutil

    from config import Settings

    budget = Settings().l1_max_bytes
    with backend("embedded", workdir / "data") as be:
        env = server_env(be.env)
        with ServerProcess(env, 1, log_path=out_dir / "memory-server.log") as server:
            source = (SCENES_DIR / "g22_product_launch_long.tsx").read_text()
            scene = create_compiled(server.base, [source + "\n// memory bench\n"], 1, "memory")[0]
            assert server.proc is not None
            worker = psutil.Process(server.proc.pid)  # one worker: the server process serves HTTP itself
            hashes, code = asyncio.run(_store_artifacts(server, env, scene["hash"], artifacts))
            time.sleep(1.0)
            rss_idle = worker.memory_info().rss
            peak = [rss_idle]
            stop = threading.Event()

            def sampler() -> None:
                while not stop.is_set():
                    peak[0] = max(peak[0], worker.memory_info().rss)
                    stop.wait(0.25)

            thread = threading.Thread(target=sampler, daemon=True)
            thread.start()
            t0 = time.monotonic()
            try:
                asyncio.run(_request_all(server.base, hashes, concurrency))
            finally:
                stop.set()
                thread.join(5)
            seconds = time.monotonic() - t0
            time.sleep(1.0)
            rss_end = worker.memory_info().rss
            l1_bytes = Metrics.fetch(server.base).total("artifact_proxy_l1_bytes")
    result = {
        "artifacts": artifacts, "artifact_bytes": len(code), "budget_mib": budget / MIB, "overhead_mib": OVERHEAD_MIB,
        "rss_idle_mib": rss_idle / MIB, "rss_peak_mib": peak[0] / MIB, "rss_end_mib": rss_end / MIB,
        "growth_peak_mib": (peak[0] - rss_idle) / MIB, "l1_bytes_mib": l1_bytes / MIB, "seconds": seconds,
    }
    result["ok"] = result["growth_peak_mib"] <= result["budget_mib"] + OVERHEAD_MIB
    print(f"  memory: idle {result['rss_idle_mib']:.1f} MiB, peak {result['rss_peak_mib']:.1f} MiB, end "
          f"{result['rss_end_mib']:.1f} MiB, L1 {result['l1_bytes_mib']:.1f} MiB ({seconds:.0f}s)")
    return result


async def _store_artifacts(server: ServerProcess, env: dict[str, str], hash: str, n: int) -> tuple[list[str], bytes]:
    """N distinct sealed artifacts written to the server's storage; returns their hashes and the base code."""
    import aiohttp

    from config import Settings
    from core.artifact import seal
    from proxy.storage import create_store

    async with aiohttp.ClientSession() as session:
        async with session.get(f"{server.base}/components/{hash}.js") as r:
            sealed = await r.read()
        for _ in range(50):  # warm the hot path before the idle RSS is taken
            async with session.get(f"{server.base}/components/{hash}.js", headers={"Accept-Encoding": "br"}) as r:
                await r.read()
    code = sealed[: sealed.rindex(b"//# artifact-sha256=")]
    store = create_store(Settings(storage_url=env["PROXY_STORAGE_URL"]))
    hashes = [hashlib.sha256(f"memory {i}".encode()).hexdigest()[:16] for i in range(n)]
    sem = asyncio.Semaphore(16)

    async def put(i: int, h: str) -> None:
        async with sem:
            await store.put(h, seal(code + f"// memory artifact {i}\n".encode()))

    await asyncio.gather(*(put(i, h) for i, h in enumerate(hashes)))
    await store.close()
    return hashes, code


async def _request_all(base: str, hashes: list[str], concurrency: int) -> None:
    import aiohttp

    queue = iter(hashes)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:

        async def lane() -> None:
            for h in queue:
                async with session.get(f"{base}/components/{h}.js", headers={"Accept-Encoding": "br"}) as r:
                    await r.read()
                    if r.status != 200:
                        raise RuntimeError(f"{h}: {r.status}")

        await asyncio.gather(*(lane() for _ in range(concurrency)))


def render_rows(m: dict[str, Any]) -> list[str]:
    return [f"| memory: one worker after {m['artifacts']} distinct artifacts ({m['artifact_bytes']} B each + "
            f"encodings) | idle {m['rss_idle_mib']:.1f} MiB, peak {m['rss_peak_mib']:.1f} MiB (+"
            f"{m['growth_peak_mib']:.1f}), end {m['rss_end_mib']:.1f} MiB; L1 holds {m['l1_bytes_mib']:.1f} MiB "
            f"| growth <= {m['budget_mib']:.0f} MiB budget + {m['overhead_mib']} MiB | "
            f"{'met' if m['ok'] else '**missed**'} |"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--artifacts", type=int, default=10_000)
    args = p.parse_args()
    out = Path(__file__).resolve().parent / "results" / time.strftime("%Y%m%d-%H%M%S-memory")
    out.mkdir(parents=True, exist_ok=True)
    workdir = temp_workdir("bench-memory-")
    try:
        result = run_memory_bench(workdir, out, args.artifacts)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("\n".join(render_rows(result)))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
