"""`artifact-proxy backfill`: compile every scene whose artifact is missing or stale.

Stale means `compiled_hash != compiler.hash_of(tsx_code)`: an edit never compiled, a scene from
before this service, or a compiler upgrade (which changes every hash). Pages come by keyset on id,
so a run is resumable by construction (done scenes are no longer stale) and never scans with OFFSET.
Each outcome is recorded with compare-and-set on the code that was compiled, so a concurrent edit
always wins over the backfill."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import TextIO

import orjson

from config import Settings
from proxy.compiler.types import CompileError
from proxy.db.base import Compilation, Scene
from proxy.service import CompilationService


@dataclass
class BackfillStats:
    scanned: int = 0
    stale: int = 0
    compiled: int = 0
    unchanged: int = 0
    failed: int = 0
    skipped_edited: int = 0  # an edit landed while compiling; the edit's own compile owns the row
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def summary(self) -> dict[str, float | int]:
        done = self.compiled + self.failed
        return {"scanned": self.scanned, "stale": self.stale, "compiled": self.compiled,
                "unchanged": self.unchanged, "failed": self.failed, "skippedEdited": self.skipped_edited,
                "elapsedSeconds": round(self.elapsed, 2),
                "scenesPerSecond": round(done / self.elapsed, 1) if self.elapsed > 0 else 0.0}


class Progress:
    """A bar with rate and ETA on a terminal; a plain line every few seconds otherwise (logs, CI)."""

    def __init__(self, total: int, out: TextIO = sys.stderr, every: float = 5.0) -> None:
        self.total, self.out, self.every = total, out, every
        self.tty = out.isatty()
        self._last = 0.0

    def update(self, stats: BackfillStats, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self._last < (0.2 if self.tty else self.every):
            return
        self._last = now
        rate = stats.scanned / stats.elapsed if stats.elapsed > 0 else 0.0
        eta = (self.total - stats.scanned) / rate if rate > 0 else 0.0
        if self.tty:
            width = 30
            filled = int(width * stats.scanned / self.total) if self.total else width
            line = (f"\r[{'#' * filled}{'.' * (width - filled)}] {stats.scanned}/{self.total} "
                    f"{rate:7.1f}/s ETA {eta:5.0f}s compiled={stats.compiled} failed={stats.failed}")
            self.out.write(line + ("\n" if final else ""))
        else:
            self.out.write(f"backfill: {stats.scanned}/{self.total} scanned, {stats.compiled} compiled, "
                           f"{stats.failed} failed, {rate:.1f}/s, eta {eta:.0f}s\n")
        self.out.flush()


async def backfill(service: CompilationService, *, batch_size: int = 100, concurrency: int = 8,
                   dry_run: bool = False, limit: int | None = None, report: TextIO | None = None,
                   progress: Progress | None = None) -> BackfillStats:
    stats = BackfillStats()
    repo, compiler = service.repo, service.compiler
    gate = asyncio.Semaphore(concurrency)

    async def one(scene: Scene) -> None:
        async with gate:
            try:
                built = await service.build(scene.tsx_code)
                outcome = Compilation(hash=built.hash, url=built.url, error=None)
            except CompileError as e:
                outcome = Compilation(hash=None, url=None, error=e.describe())
            if await repo.record_compilation(scene.id, scene.tsx_code, outcome):
                service.mappings.invalidate(scene.id)
                if outcome.hash is not None:
                    stats.compiled += 1
                else:
                    stats.failed += 1
                    if report is not None:
                        report.write(orjson.dumps({"id": str(scene.id), "error": outcome.error}).decode() + "\n")
            else:
                stats.skipped_edited += 1

    after: uuid.UUID | None = None
    while limit is None or stats.stale < limit:
        page = await repo.list_after(after, batch_size)
        if not page:
            break
        after = page[-1].id
        todo: list[Scene] = []
        for scene in page:
            stats.scanned += 1
            if scene.compiled_hash == compiler.hash_of(scene.tsx_code) and not scene.compilation_error:
                stats.unchanged += 1
                continue
            if limit is not None and stats.stale >= limit:
                break
            stats.stale += 1
            todo.append(scene)
        if not dry_run:
            await asyncio.gather(*(one(s) for s in todo))
        if progress is not None:
            progress.update(stats)
    if progress is not None:
        progress.update(stats, final=True)
    return stats


def run_backfill(settings: Settings, *, batch_size: int, concurrency: int, dry_run: bool,
                 limit: int | None, report_path: str) -> int:
    if batch_size < 1 or concurrency < 1 or (limit is not None and limit < 1):
        print("artifact-proxy backfill: --batch-size, --concurrency and --limit must be >= 1", file=sys.stderr)
        return 2
    with open(report_path, "w") as report:
        stats = asyncio.run(_run(settings, batch_size, concurrency, dry_run, limit, report))
    print(orjson.dumps({"dryRun": dry_run, **stats.summary(), "report": report_path}).decode())
    return 0


async def _run(settings: Settings, batch_size: int, concurrency: int, dry_run: bool, limit: int | None,
               report: TextIO) -> BackfillStats:
    from proxy.app import build_context

    c = build_context(settings)
    await c.repo.migrate()
    await c.compiler.start()
    try:
        total = await c.repo.count()
        return await backfill(c.service, batch_size=batch_size, concurrency=concurrency, dry_run=dry_run,
                              limit=limit, report=report, progress=Progress(total))
    finally:
        await c.compiler.close()
        await c.store.close()
        await c.repo.close()
