"""Backfill throughput: seed N scenes straight through the repository, then time `backfill`.

    .venv/bin/python -m loadtest.bench_backfill [-n 10000] [--dup 0.3] [--backend sqlite,pg]
                                                [--concurrency 32] [--batch-size 200] [--profile]

Scenes are ~150 lines of varied TSX generated from a seed (deterministic), with `--dup` of them
copies of an earlier scene's code (shared artifacts: compiled once, recorded many times).

* sqlite: SQLite + a local artifact directory, in a temporary directory.
* pg:     PostgreSQL + an S3 endpoint: a fresh database on PROXY_TEST_PG_ADMIN_DSN (default
          postgresql://postgres@127.0.0.1:5432/postgres), created and dropped here, and a
          `moto_server` started on a free loopback port and stopped at the end.

Only the backfill itself is timed (the compiler pool is started before the clock). The target is
>= 300 scenes/s on a 2-core machine. Because the machine may be shared, the CPU seconds spent by
each party (this process, the Node compiler workers, moto_server, this database's PostgreSQL
backends) are also measured, and the rate two idle cores would sustain is estimated from them:
`scenes / (cpu seconds / 2)`.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from config import Settings
from core.scenes import SceneRepository
from proxy.app import build_context
from proxy.backfill import Backfill, BackfillStats
from proxy.db import create_repository

DEFAULT_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGET = 300.0

_WORDS = ("launch", "growth", "pixel", "rocket", "signal", "orbit", "canvas", "vector", "prism", "delta",
          "nimbus", "quartz", "ember", "tidal", "lumen", "atlas", "cobalt", "sierra", "zenith", "fable")
_COLORS = ("#0f172a", "#f97316", "#22c55e", "#3b82f6", "#a855f7", "#ef4444", "#eab308", "#14b8a6",
           "#f43f5e", "#64748b", "#0ea5e9", "#84cc16")


def scene_source(rng: random.Random, index: int) -> str:
    """One ~150-line Remotion scene; structure, names, numbers and text vary with `rng`."""
    name = "".join(w.capitalize() for w in rng.sample(_WORDS, 2)) + str(index)
    n_items = rng.randint(4, 7)
    items = ",\n".join(
        f"  {{ id: {i}, title: '{rng.choice(_WORDS)} {rng.randint(1, 999)}', value: {rng.randint(1, 100)}, "
        f"color: '{rng.choice(_COLORS)}' }}"
        for i in range(n_items))
    bg, fg, accent = rng.sample(_COLORS, 3)
    damping = rng.randint(8, 20)
    lines = [
        "import React from 'react';",
        "import { AbsoluteFill, Sequence, useCurrentFrame, useVideoConfig, spring, interpolate, Easing }"
        " from 'remotion';",
        "",
        "type Item = { id: number; title: string; value: number; color: string };",
        "",
        "interface CardProps {",
        "  item: Item;",
        "  index: number;",
        "  total: number;",
        "}",
        "",
        f"const THEME = {{ bg: '{bg}', fg: '{fg}', accent: '{accent}', radius: {rng.randint(4, 40)} }} as const;",
        "",
        f"const ITEMS: Item[] = [\n{items},\n];",
        "",
        "function clamp(v: number, lo: number, hi: number): number {",
        "  return Math.min(hi, Math.max(lo, v));",
        "}",
        "",
        "function useEnter(delay: number) {",
        "  const frame = useCurrentFrame();",
        "  const { fps } = useVideoConfig();",
        f"  return spring({{ frame: frame - delay, fps, config: {{ damping: {damping}, mass: 0.8 }} }});",
        "}",
        "",
        "const Card: React.FC<CardProps> = ({ item, index, total }) => {",
        f"  const enter = useEnter(index * {rng.randint(3, 12)});",
        "  const frame = useCurrentFrame();",
        f"  const glow = interpolate(frame, [{rng.randint(10, 40)}, {rng.randint(60, 120)}], [0, 1], {{",
        "    easing: Easing.inOut(Easing.ease),",
        "    extrapolateLeft: 'clamp',",
        "    extrapolateRight: 'clamp',",
        "  });",
        "  const width = clamp(item.value * 8, 40, 800);",
        "  return (",
        "    <div",
        "      style={{",
        "        display: 'flex',",
        "        alignItems: 'center',",
        f"        gap: {rng.randint(8, 32)},",
        "        padding: 24,",
        "        borderRadius: THEME.radius,",
        "        background: 'rgba(255,255,255,0.06)',",
        "        transform: `translateX(${(1 - enter) * -200}px)`,",
        "        opacity: enter,",
        "        boxShadow: `0 0 ${glow * 40}px ${item.color}`,",
        "      }}",
        "    >",
        "      <span style={{ color: THEME.fg, fontSize: 36, width: 320 }}>{item.title}</span>",
        "      <div style={{ height: 28, width, background: item.color, borderRadius: 14 }} />",
        "      <span style={{ color: THEME.accent, fontSize: 32 }}>{Math.round(item.value * enter)}%</span>",
        "      <small style={{ color: THEME.fg, opacity: 0.5 }}>{index + 1}/{total}</small>",
        "    </div>",
        "  );",
        "};",
        "",
    ]
    # a varying number of helper components, so sizes and shapes differ from scene to scene
    for h in range(rng.randint(2, 4)):
        word = rng.choice(_WORDS)
        lines += [
            f"const Badge{h}: React.FC<{{ label: string }}> = ({{ label }}) => {{",
            "  const frame = useCurrentFrame();",
            f"  const pulse = 1 + Math.sin(frame / {rng.randint(4, 16)}) * 0.{rng.randint(1, 9)};",
            "  return (",
            "    <div",
            "      style={{",
            "        display: 'inline-block',",
            f"        padding: '{rng.randint(4, 16)}px {rng.randint(8, 32)}px',",
            f"        background: '{rng.choice(_COLORS)}',",
            "        color: THEME.fg,",
            "        borderRadius: 999,",
            "        transform: `scale(${pulse})`,",
            "      }}",
            "    >",
            f"      {{label}} · {word}",
            "    </div>",
            "  );",
            "};",
            "",
        ]
    badges = "\n".join(f"          <Badge{h} label=\"{rng.choice(_WORDS)}\" />"
                       for h in range(sum(1 for line in lines if line.startswith("const Badge"))))
    lines += [
        f"export default function {name}() {{",
        "  const frame = useCurrentFrame();",
        "  const { durationInFrames } = useVideoConfig();",
        "  const fadeOut = interpolate(frame, [durationInFrames - 20, durationInFrames], [1, 0], {",
        "    extrapolateLeft: 'clamp',",
        "    extrapolateRight: 'clamp',",
        "  });",
        f"  const title = '{rng.choice(_WORDS).upper()} {rng.randint(2020, 2030)}';",
        "  return (",
        "    <AbsoluteFill style={{ background: THEME.bg, padding: 80, opacity: fadeOut }}>",
        f"      <Sequence from={{0}} durationInFrames={{{rng.randint(60, 200)}}}>",
        "        <h1 style={{ color: THEME.fg, fontSize: 96, margin: 0 }}>{title}</h1>",
        "      </Sequence>",
        f"      <Sequence from={{{rng.randint(10, 40)}}}>",
        "        <div style={{ display: 'flex', flexDirection: 'column', gap: 16, marginTop: 160 }}>",
        "          {ITEMS.map((item, i) => (",
        "            <Card key={item.id} item={item} index={i} total={ITEMS.length} />",
        "          ))}",
        "        </div>",
        "      </Sequence>",
        f"      <Sequence from={{{rng.randint(40, 90)}}}>",
        "        <div style={{ position: 'absolute', bottom: 60, display: 'flex', gap: 12 }}>",
        badges,
        "        </div>",
        "      </Sequence>",
        "    </AbsoluteFill>",
        "  );",
        "}",
        "",
    ]
    return "\n".join(lines)


def corpus(n: int, dup: float, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    sources: list[str] = []
    for i in range(n):
        if sources and rng.random() < dup:
            sources.append(rng.choice(sources))
        else:
            sources.append(scene_source(rng, i))
    return sources


async def seed(repo: SceneRepository, sources: list[str], concurrency: int = 16) -> None:
    it = iter(sources)

    async def lane() -> None:
        for code in it:
            await repo.create(uuid.uuid4(), code, "bench", uuid.uuid4())

    await asyncio.gather(*(lane() for _ in range(concurrency)))


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def pg_backend_pids(dsn: str) -> list[int]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                "AND pid <> pg_backend_pid()")
        return [int(r["pid"]) for r in rows]
    finally:
        await conn.close()


class CpuMeter:
    """CPU seconds per party between start() and stop()."""

    def __init__(self, extra_pids: dict[str, int]) -> None:
        self.extra = extra_pids
        self.before: dict[str, float] = {}
        self.used: dict[str, float] = {}

    def _sample(self, workers: list[int]) -> dict[str, float]:
        sample = {"python": time.process_time(), "node": sum(cpu_seconds(p) for p in workers)}
        sample.update({name: cpu_seconds(pid) for name, pid in self.extra.items()})
        return sample

    def start(self, workers: list[int]) -> None:
        self.before = self._sample(workers)

    def stop(self, workers: list[int], postgres_pids: list[int]) -> None:
        after = self._sample(workers)
        self.used = {k: after[k] - self.before.get(k, 0.0) for k in after}
        if postgres_pids:  # backends opened by this run's pool: all their CPU is this run's
            self.used["postgres"] = sum(cpu_seconds(p) for p in postgres_pids)

    def report(self, label: str, scenes: int, cores: int = 2) -> str:
        total = sum(self.used.values())
        parts = ", ".join(f"{k} {v:.1f}s ({v / scenes * 1000:.2f} ms/scene)" for k, v in self.used.items())
        return (f"[{label}] CPU: {parts}; total {total:.1f}s -> on {cores} idle cores "
                f"~{scenes / (total / cores):.0f} scenes/s")


async def run_one(label: str, settings: Settings, sources: list[str], concurrency: int, batch_size: int,
                  profile: bool, extra_pids: dict[str, int]) -> BackfillStats:
    repo = create_repository(settings)
    await repo.migrate()
    t0 = time.perf_counter()
    await seed(repo, sources)
    await repo.close()
    print(f"[{label}] seeded {len(sources)} scenes ({len(set(sources))} distinct) in "
          f"{time.perf_counter() - t0:.1f}s")
    c = build_context(settings)
    await c.repo.migrate()
    await c.compiler.start()
    profiler = cProfile.Profile() if profile else None
    pids: Callable[[], list[int]] = getattr(c.compiler, "pids", list)
    meter = CpuMeter(extra_pids)
    try:
        if profiler is not None:
            profiler.enable()
        meter.start(pids())
        stats = await Backfill(c.service, batch_size=batch_size, concurrency=concurrency).run()
        pg = await pg_backend_pids(settings.database_url) if settings.database_url.startswith("postgres") else []
        meter.stop(pids(), pg)
        if profiler is not None:
            profiler.disable()
        # a second run must find nothing to do
        again = await Backfill(c.service, batch_size=batch_size, concurrency=concurrency).run()
    finally:
        await c.close()
    s = stats.summary()
    rate = (stats.compiled + stats.failed) / stats.elapsed
    verdict = "OK" if rate >= TARGET else f"BELOW {TARGET:.0f}/s"
    print(f"[{label}] backfill: {s}")
    print(f"[{label}] {rate:.0f} scenes/s ({verdict}); re-run compiled {again.compiled}, "
          f"unchanged {again.unchanged} in {again.elapsed:.1f}s")
    print(meter.report(label, len(sources)))
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
    return stats


@contextmanager
def sqlite_backend() -> Iterator[tuple[Settings, dict[str, int]]]:
    with tempfile.TemporaryDirectory(prefix="bench-backfill-") as tmp:
        yield Settings(database_url=f"sqlite:///{tmp}/proxy.sqlite3", storage_url=f"file://{tmp}/artifacts"), {}


@contextmanager
def pg_s3_backend() -> Iterator[tuple[Settings, dict[str, int]]]:
    from tests.fixtures_pg import PgDatabaseFactory
    from tests.fixtures_s3 import DUMMY_ENV, MotoServer

    os.environ.update(DUMMY_ENV)
    factory = PgDatabaseFactory(os.environ.get("PROXY_TEST_PG_ADMIN_DSN", DEFAULT_ADMIN_DSN))
    moto = MotoServer()
    moto.start()
    dsn = factory.create()
    try:
        bucket = moto.create_bucket()
        moto_pid = moto._proc.pid if moto._proc is not None else 0
        yield Settings(database_url=dsn, storage_url=f"s3://{bucket}/components",
                       s3_endpoint_url=moto.endpoint_url), {"moto": moto_pid}
    finally:
        factory.drop(dsn)
        moto.close()


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=10_000, help="scenes to seed")
    parser.add_argument("--dup", type=float, default=0.3, help="fraction of scenes that copy an earlier one")
    parser.add_argument("--backend", default="sqlite,pg", help="comma-separated: sqlite, pg")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--profile", action="store_true", help="cProfile the event loop during the run")
    args = parser.parse_args()
    sources = corpus(args.n, args.dup)
    lines = [s.count("\n") + 1 for s in sources]
    print(f"{len(sources)} scenes, {len(set(sources))} distinct, {min(lines)}-{max(lines)} lines "
          f"(mean {sum(lines) / len(lines):.0f})")
    backends = {"sqlite": ("SQLite+files", sqlite_backend), "pg": ("PostgreSQL+S3", pg_s3_backend)}
    for key in args.backend.split(","):
        label, make = backends[key.strip()]
        with make() as (settings, extra_pids):
            asyncio.run(run_one(label, settings, sources, args.concurrency, args.batch_size, args.profile,
                                extra_pids))


if __name__ == "__main__":
    cli()
