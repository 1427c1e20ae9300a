"""What source maps cost, every figure paired with maps off in the same run:

    .venv/bin/python -m loadtest.bench_sourcemaps [-n 400] [--rounds 5] [--gets 3000]

1. compile time through the worker pool (one worker, one compile at a time, as the service calls
   it), maps on vs off, interleaved in rounds so load on a shared box hits both alike: median and p99
   per scene, and their ratio;
2. bytes stored per artifact for the whole fixture corpus: the sealed module (with its
   sourceMappingURL comment) and the sealed map, identity and gzip;
3. the hot path: two real servers (PROXY_SOURCE_MAPS on / off), a cached `GET /components/<hash>.js`
   over keep-alive, blocks of 100 requests alternating between the two: median and p99 latency per
   request, the ratio, the response size, and what the server's own metrics counted meanwhile: every
   request a module answer from L1, no storage read (maps are fetched only by devtools and error
   reporting).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import http.client
import platform
import statistics
import time
from pathlib import Path

from config import Settings
from core.artifact import seal, seal_map
from loadtest.bench_compile import DEFAULT_SCENES, percentile
from loadtest.promtext import ARTIFACT_ROUTE, parse
from loadtest.server import ServerProcess, backend, create_compiled, server_env, temp_workdir
from proxy.compiler.pool import CompilerPool

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = sorted((ROOT / "tests" / "fixtures" / "scenes").glob("*.tsx"))


def host() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def stats(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    return statistics.median(s), percentile(s, 99)


# --- 1. compile time ------------------------------------------------------------------------------------

async def compile_times(n: int, rounds: int) -> None:
    pools = {mode: CompilerPool(Settings(compile_workers=1, compile_queue_limit=1024, source_maps=mode == "maps"))
             for mode in ("maps", "no maps")}
    for pool in pools.values():
        await pool.start()
    try:
        print("\n## compile time (1 worker, sequential; each compile a unique source)\n")
        print("| scene | maps: median / p99 | no maps: median / p99 | median ratio |")
        print("|---|---|---|---|")
        for scene in DEFAULT_SCENES:
            source = scene.read_text()
            samples: dict[str, list[float]] = {mode: [] for mode in pools}
            counter = 0
            for r in range(rounds + 1):  # round 0 warms both
                order = list(pools) if r % 2 == 0 else list(reversed(pools))
                for mode in order:
                    for _ in range(n if r else 50):
                        counter += 1
                        text = f"{source}\n// bench {counter}\n"
                        t0 = time.perf_counter()
                        await pools[mode].compile(text)
                        if r:
                            samples[mode].append((time.perf_counter() - t0) * 1000)
            (m_on, p_on), (m_off, p_off) = stats(samples["maps"]), stats(samples["no maps"])
            print(f"| {scene.name} ({source.count(chr(10)) + 1} lines) | {m_on:.2f} / {p_on:.2f} ms | "
                  f"{m_off:.2f} / {p_off:.2f} ms | {m_on / m_off:.2f}x |")
    finally:
        for pool in pools.values():
            await pool.close()


# --- 2. bytes stored --------------------------------------------------------------------------------------

async def stored_bytes() -> None:
    pool = CompilerPool(Settings(compile_workers=2, compile_queue_limit=1024))
    await pool.start()
    try:
        modules = await asyncio.gather(*(pool.compile(p.read_text()) for p in FIXTURES))
    finally:
        await pool.close()
    rows = []
    for path, m in zip(FIXTURES, modules, strict=True):
        module = seal(m.code)
        source_map = seal_map(m.map or b"{}")
        rows.append((path.name, len(path.read_bytes()), len(module), len(source_map),
                     len(gzip.compress(module, 9, mtime=0)), len(gzip.compress(source_map, 9, mtime=0))))
    print(f"\n## bytes stored per artifact ({len(rows)} fixture scenes, sealed)\n")
    print("| | TSX | module | map | module gzip | map gzip | map / module |")
    print("|---|---|---|---|---|---|---|")
    for label, pick in (("median", statistics.median), ("max", max)):
        cols = [pick([r[i] for r in rows]) for i in range(1, 6)]
        ratio = pick([r[3] / r[2] for r in rows])
        print(f"| {label} | " + " | ".join(f"{c:,.0f} B" for c in cols) + f" | {ratio:.2f}x |")
    total = [sum(r[i] for r in rows) for i in range(1, 6)]
    print("| total | " + " | ".join(f"{c:,} B" for c in total) + f" | {total[2] / total[1]:.2f}x |")
    comment = len(b"//# sourceMappingURL=0123456789abcdef.js.map\n")
    print(f"\nThe module itself grows by its comment line: {comment} bytes.")


# --- 3. the hot path -------------------------------------------------------------------------------------

def hot_gets(base: str, path: str, count: int, sizes: list[int] | None = None) -> list[float]:
    port = int(base.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    samples = []
    try:
        for _ in range(count):
            t0 = time.perf_counter()
            conn.request("GET", path)
            r = conn.getresponse()
            body = r.read()
            if sizes is not None:
                sizes.append(len(body))
            samples.append((time.perf_counter() - t0) * 1000)
            if r.status != 200:
                raise RuntimeError(f"GET {path}: {r.status}")
    finally:
        conn.close()
    return samples


def counters(base: str) -> dict[str, float]:
    port = int(base.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    out = {"storage_gets": 0.0, "requests": 0.0, "l1_misses": 0.0}
    for sample in parse(text):
        name, labels, value = sample.name, sample.labels, sample.value
        if name == "artifact_proxy_storage_duration_seconds_count" and labels.get("op") == "get":
            out["storage_gets"] += value
        if name == "artifact_proxy_request_duration_seconds_count" and labels.get("route") == ARTIFACT_ROUTE:
            out["requests"] += value
        if (name == "artifact_proxy_cache_lookups_total" and labels.get("tier") == "l1"
                and labels.get("result") == "miss"):
            out["l1_misses"] += value
    return out


def hot_path(gets: int, rounds: int) -> None:
    source = FIXTURES[0].read_text()
    servers: dict[str, tuple[ServerProcess, str]] = {}
    with contextlib.ExitStack() as stack:
        for mode, flag in (("maps", "true"), ("no maps", "false")):
            be = stack.enter_context(backend("embedded", temp_workdir("bench-maps-")))
            server = stack.enter_context(ServerProcess(server_env(be.env, PROXY_SOURCE_MAPS=flag), 1))
            scene = create_compiled(server.base, [f"{source}\n// hot {mode}\n"])[0]
            path = f"/components/{scene['hash']}.js"
            hot_gets(server.base, path, 200)  # warm: the module is in L1
            servers[mode] = (server, path)
        time.sleep(1.5)  # the hot counters are flushed every second
        before = {mode: counters(s.base) for mode, (s, _) in servers.items()}
        sizes: dict[str, list[int]] = {mode: [] for mode in servers}
        samples: dict[str, list[float]] = {mode: [] for mode in servers}
        # blocks of 100, alternating which server goes first: a shared box's load swings within
        # seconds, and both servers must see the same swings
        block = 100
        for r in range(rounds * max(1, gets // block)):
            order = list(servers) if r % 2 == 0 else list(reversed(servers))
            for mode in order:
                server, path = servers[mode]
                samples[mode] += hot_gets(server.base, path, block, sizes[mode])
        time.sleep(1.5)
        after = {mode: counters(s.base) for mode, (s, _) in servers.items()}
        print(f"\n## hot path: cached GET /components/<hash>.js, keep-alive, 1 worker, {rounds} x {gets} requests\n")
        print("| server | median | p99 | body | artifact requests counted | L1 misses | storage reads |")
        print("|---|---|---|---|---|---|---|")
        for mode in servers:
            m, p = stats(samples[mode])
            delta = {k: after[mode][k] - before[mode][k] for k in after[mode]}
            print(f"| PROXY_SOURCE_MAPS {'on' if mode == 'maps' else 'off'} | {m * 1000:.0f} us | {p * 1000:.0f} us | "
                  f"{statistics.median(sizes[mode]):,.0f} B | {delta['requests']:.0f} of {len(samples[mode])} | "
                  f"{delta['l1_misses']:.0f} | {delta['storage_gets']:.0f} |")
        ratio = stats(samples["maps"])[0] / stats(samples["no maps"])[0]
        print(f"\nmedian latency ratio maps/no maps: {ratio:.3f}")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=400, help="compiles per mode per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--gets", type=int, default=3000, help="hot GETs per server per round")
    args = parser.parse_args()
    print(f"# source maps: what they cost\n\nhost: {host()}, {platform.python_version()}; "
          f"load average at start {Path('/proc/loadavg').read_text().split()[0]} (the machine is shared)")
    asyncio.run(compile_times(args.n, args.rounds))
    asyncio.run(stored_bytes())
    hot_path(args.gets, args.rounds)


if __name__ == "__main__":
    cli()
