"""`artifact-proxy backfill`: compile every scene whose artifact is missing or stale.

Stale means `compiled_hash != compiler.hash_of(tsx_code)` (or an error is recorded): an edit never
compiled, a scene from before this service, or a compiler upgrade (which changes every hash). Pages
come by keyset on id, so a run never scans with OFFSET and is resumable by construction: a scene
done by an earlier (killed) run is no longer stale and is skipped without compiling. Each outcome is
recorded with compare-and-set on the code that was compiled, so a concurrent edit always wins.

Throughput: one producer reads pages ahead while `concurrency` lanes compile, so the compiler pool
never idles at a page boundary. Identical code (shared by many scenes) is compiled once per run, as
is code that some up-to-date scene already has an artifact for. Artifacts go straight to object storage: an
offline run has no use for the server's in-process cache, whose fill (brotli at quality 11) would
cost more CPU than the compile itself.

Failures never stop the run. A failure of the code (syntax, import, ...) is recorded in
compilation_error; a failure of ours (compiler timeout/crash/overload, storage or database down) is
retried a few times and then only reported, so the scene stays pending instead of being marked
broken. Every failed id goes to the report file (JSON lines) with its first error.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import orjson

from config import Settings
from proxy import metrics
from proxy.artifact import seal
from proxy.compiler.types import CompileError
from proxy.db.base import Compilation, Scene
from proxy.service import Built, CompilationService

log = logging.getLogger("artifact_proxy.compile")
_current_scene: contextvars.ContextVar[str | None] = contextvars.ContextVar("backfill_scene", default=None)

RETRIES = 3  # attempts for failures of ours (overload, timeout, crash, storage, database)
RETRY_DELAY = 0.5
_KNOWN_CAP = 200_000  # hashes remembered as stored/failed within one run


@dataclass
class BackfillStats:
    scanned: int = 0
    stale: int = 0
    compiled: int = 0
    unchanged: int = 0
    failed: int = 0
    skipped_edited: int = 0  # an edit landed while compiling; the edit's own compile owns the row
    dry_run: bool = False
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def processed(self) -> int:
        return self.scanned if self.dry_run else self.compiled + self.failed + self.skipped_edited

    @property
    def rate(self) -> float:
        return self.processed / self.elapsed if self.elapsed > 0 else 0.0

    def summary(self) -> dict[str, float | int]:
        return {"scanned": self.scanned, "stale": self.stale, "compiled": self.compiled,
                "unchanged": self.unchanged, "failed": self.failed, "skippedEdited": self.skipped_edited,
                "elapsedSeconds": round(self.elapsed, 2), "scenesPerSecond": round(self.rate, 1)}

    def line(self) -> str:
        return (f"scanned {self.scanned}, stale {self.stale}, compiled {self.compiled}, unchanged {self.unchanged}, "
                f"failed {self.failed}, skipped (edited meanwhile) {self.skipped_edited}, "
                f"{self.elapsed:.1f}s, {self.rate:.1f} scenes/s")


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


class _SceneIdFilter(logging.Filter):
    """Adds the scene being backfilled to compile log lines emitted inside its task."""

    def filter(self, record: logging.LogRecord) -> bool:
        scene = _current_scene.get()
        if scene is not None and not hasattr(record, "sceneId"):
            record.sceneId = scene
        return True


class _Builder:
    """compile + store for the backfill: each hash at most once per run, straight to object storage."""

    def __init__(self, service: CompilationService) -> None:
        self.service = service
        self.store = service.tiers.store
        self._stored: set[str] = set()
        self._source_errors: dict[str, CompileError] = {}  # deterministic: same code, same error
        self._running: dict[str, asyncio.Future[Built]] = {}

    async def build(self, scene_id: uuid.UUID, code: str, hash: str) -> Built:
        if hash in self._stored:
            return Built(hash, self.service.url_for(hash))
        if hash in self._source_errors:
            raise self._source_errors[hash]
        running = self._running.get(hash)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[Built] = asyncio.get_running_loop().create_future()
        self._running[hash] = future
        try:
            built = await self._compile_and_store(scene_id, hash, code)
        except BaseException as e:
            if isinstance(e, CompileError) and e.is_source_error:
                if len(self._source_errors) >= _KNOWN_CAP:
                    self._source_errors.clear()
                self._source_errors[hash] = e
            future.set_exception(e)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waited
            raise
        else:
            self.known_stored(hash)
            future.set_result(built)
            return built
        finally:
            del self._running[hash]

    def known_stored(self, hash: str) -> None:
        """`hash` is the current artifact of some scene: storage has it (or the artifact route repairs it)."""
        if len(self._stored) >= _KNOWN_CAP:
            self._stored.clear()
        self._stored.add(hash)

    async def _compile_and_store(self, scene_id: uuid.UUID, hash: str, code: str) -> Built:
        # No existence check first: on a first run or after a compiler upgrade nearly every hash is new,
        # and a compile (~1 ms of Node) is cheaper than a HEAD on S3; `put` of an existing hash is a no-op.
        # Straight to storage: warming the server's L1 here would cost more than the compile.
        module = await self.service.compile_measured(hash, code, scene_id, source="backfill")
        put_started = time.perf_counter()
        await self.store.put(module.hash, seal(module.code))
        metrics.STORAGE_SECONDS.labels("put").observe(time.perf_counter() - put_started)
        return Built(module.hash, self.service.url_for(module.hash))


def _is_current(scene: Scene, current_hash: str) -> bool:
    return scene.compiled_hash == current_hash and not scene.compilation_error


async def backfill(service: CompilationService, *, batch_size: int = 100, concurrency: int = 8,
                   dry_run: bool = False, limit: int | None = None, report: TextIO | None = None,
                   progress: Progress | None = None) -> BackfillStats:
    """Compile every stale scene; see the module docstring. `limit` caps the stale scenes handled."""
    stats = BackfillStats(dry_run=dry_run)
    repo, compiler = service.repo, service.compiler
    builder = _Builder(service)
    queue: asyncio.Queue[tuple[Scene, str] | None] = asyncio.Queue(maxsize=max(batch_size, concurrency) * 2)

    def failed(scene: Scene, error: str, kind: str) -> None:
        stats.failed += 1
        if report is not None:
            report.write(orjson.dumps({"id": str(scene.id), "kind": kind, "error": error}).decode() + "\n")
            report.flush()

    async def compile_one(scene: Scene, hash: str) -> tuple[Compilation, str]:
        """The outcome to record and its kind; raises a failure of ours (CompileError or other)."""
        try:
            built = await builder.build(scene.id, scene.tsx_code, hash)
        except CompileError as e:
            if not e.is_source_error:
                raise
            return Compilation(hash=None, url=None, error=e.describe()), e.kind
        return Compilation(hash=built.hash, url=built.url, error=None), "ok"

    # Set when the run is interrupted. Cancelling the lanes should be enough, but a cancellation that
    # lands as an awaited result arrives can be lost on Python 3.11 (seen in the killed-midway test:
    # a lane went on through the whole queue); a lane checks this before recording and before
    # taking the next scene, so a stopped run records nothing more.
    stopping = asyncio.Event()

    async def one(scene: Scene, hash: str) -> None:
        _current_scene.set(str(scene.id))
        for n in range(1, RETRIES + 1):
            try:
                outcome, kind = await compile_one(scene, hash)
                if stopping.is_set():
                    return  # compiled while the run was being stopped: left for the next run
                recorded = await repo.record_compilation(scene.id, scene.tsx_code, outcome)
                break
            except Exception as e:  # ours: compiler timeout/crash/overload, storage or database trouble
                if n < RETRIES:
                    await asyncio.sleep(RETRY_DELAY * n)
                    continue
                if isinstance(e, CompileError):
                    failed(scene, e.describe(), e.kind)
                else:
                    failed(scene, f"{type(e).__name__}: {e}", "internal")
                return  # not recorded: the scene stays pending for the next request or run
        if not recorded:
            stats.skipped_edited += 1
            return
        await service.announce_recorded(scene, outcome)
        if outcome.hash is not None:
            stats.compiled += 1
        else:
            failed(scene, outcome.error or "", kind)

    async def lane() -> None:
        while not stopping.is_set() and (item := await queue.get()) is not None:
            await one(*item)
            if progress is not None:
                progress.update(stats)

    async def produce() -> None:
        after: uuid.UUID | None = None
        while limit is None or stats.stale < limit:
            page = await repo.list_after(after, batch_size)
            if not page:
                return
            after = page[-1].id
            for scene in page:
                if limit is not None and stats.stale >= limit:
                    return
                stats.scanned += 1
                current = compiler.hash_of(scene.tsx_code)
                if _is_current(scene, current):
                    stats.unchanged += 1
                    builder.known_stored(current)  # a stale copy of this code needs no compile
                    continue
                stats.stale += 1
                if not dry_run:
                    await queue.put((scene, current))
            if progress is not None:
                progress.update(stats)

    log_filter = _SceneIdFilter()
    log.addFilter(log_filter)
    # Storage calls run in threads (boto3 is CPU-heavy); with the default 5 ms GIL switch interval the
    # event loop waits behind them on every syscall. A shorter interval keeps the pipeline fed.
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(min(switch_interval, 0.0005))
    try:
        lanes = [asyncio.create_task(lane()) for _ in range(0 if dry_run else concurrency)]
        try:
            await produce()
            for _ in lanes:
                await queue.put(None)  # after the queued work: each lane finishes what is queued, then stops
            await asyncio.gather(*lanes)
        except BaseException:  # listing failed or interrupted: stop now; a re-run resumes
            stopping.set()
            for task in lanes:
                task.cancel()
            await asyncio.gather(*lanes, return_exceptions=True)
            raise
    finally:
        sys.setswitchinterval(switch_interval)
        log.removeFilter(log_filter)
    if progress is not None:
        progress.update(stats, final=True)
    return stats


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
        total = await c.repo.count()
        return await backfill(c.service, batch_size=batch_size, concurrency=concurrency, dry_run=dry_run,
                              limit=limit, report=report, progress=Progress(total))
    finally:
        await c.compiler.close()
        await c.store.close()
        await c.repo.close()
