"""`artifact-proxy backfill`: the command around proxy/backfill.py's Backfill, and its progress line."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import TextIO

import orjson

from config import Settings
from proxy.backfill import Backfill, BackfillStats


class Progress:
    """A bar with rate and ETA on a terminal; a plain line every few seconds otherwise (logs, CI)."""

    def __init__(self, total: int, out: TextIO = sys.stderr, every: float = 5.0, tty: bool | None = None) -> None:
        self.total, self.out, self.every = total, out, every
        self.tty = out.isatty() if tty is None else tty
        self._last = 0.0

    def update(self, stats: BackfillStats, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self._last < (0.2 if self.tty else self.every):
            return
        self._last = now
        rate = stats.scanned / stats.elapsed if stats.elapsed > 0 else 0.0
        eta = max(0, self.total - stats.scanned) / rate if rate > 0 else 0.0
        if self.tty:
            width = 30
            filled = min(width, int(width * stats.scanned / self.total)) if self.total else width
            line = (f"\r[{'#' * filled}{'.' * (width - filled)}] {stats.scanned}/{self.total} "
                    f"{rate:7.1f}/s ETA {eta:5.0f}s compiled={stats.compiled} failed={stats.failed}")
            self.out.write(line + ("\n" if final else ""))
        else:
            self.out.write(f"backfill: {stats.scanned}/{self.total} scanned, {stats.compiled} compiled, "
                           f"{stats.failed} failed, {rate:.1f}/s, eta {eta:.0f}s\n")
        self.out.flush()


def run_backfill(settings: Settings, *, batch_size: int, concurrency: int, dry_run: bool,
                 limit: int | None, report_path: str) -> int:
    """The CLI command. Exit 0 when the run completed (even with failed scenes: see the report),
    1 when it could not run (database or compiler unavailable), 2 on bad arguments."""
    if batch_size < 1 or concurrency < 1 or (limit is not None and limit < 1):
        print("artifact-proxy backfill: --batch-size, --concurrency and --limit must be >= 1", file=sys.stderr)
        return 2
    try:
        if dry_run:  # counts only: not even the report file is touched
            stats = asyncio.run(_run(settings, batch_size, concurrency, dry_run, limit, None))
        else:
            Path(report_path).parent.mkdir(parents=True, exist_ok=True)
            with open(report_path, "w") as report:
                stats = asyncio.run(_run(settings, batch_size, concurrency, dry_run, limit, report))
    except KeyboardInterrupt:
        print("artifact-proxy backfill: interrupted; run it again to resume", file=sys.stderr)
        return 130
    except Exception as e:
        print(f"artifact-proxy backfill: cannot run: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(f"backfill {'(dry run) ' if dry_run else ''}done: {stats.line()}"
          + (f"; failures in {report_path}" if stats.failed else ""), file=sys.stderr)
    print(orjson.dumps({"dryRun": dry_run, **stats.summary(),
                        "report": None if dry_run else report_path}).decode())
    return 0


async def _run(settings: Settings, batch_size: int, concurrency: int, dry_run: bool, limit: int | None,
               report: TextIO | None) -> BackfillStats:
    from proxy.app import build_context

    c = build_context(settings)
    try:
        if not dry_run:
            await c.repo.migrate()
            await c.compiler.start()
        progress = Progress(await c.repo.count())
        run = Backfill(c.service, batch_size=batch_size, concurrency=concurrency, dry_run=dry_run, limit=limit,
                       report=report, on_progress=progress.update)
        stats = await run.run()
        progress.update(stats, final=True)
        return stats
    finally:
        await c.close()
