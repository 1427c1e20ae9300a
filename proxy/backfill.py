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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

import orjson

from cache.singleflight import SingleFlight
from core import metrics
from core.artifact import seal, seal_map
from core.compiler import CompileError
from core.scenes import Compilation, Scene
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
        self._flight: SingleFlight[str, Built] = SingleFlight()

    async def build(self, scene_id: uuid.UUID, code: str, hash: str) -> Built:
        if hash in self._stored:
            return Built(hash, self.service.url_for(hash))
        if hash in self._source_errors:
            raise self._source_errors[hash]
        return (await self._flight.do(hash, lambda: self._compile_and_store(scene_id, hash, code)))[0]

    def known_stored(self, hash: str) -> None:
        """`hash` is the current artifact of some scene: storage has it (or the artifact route repairs it)."""
        if len(self._stored) >= _KNOWN_CAP:
            self._stored.clear()
        self._stored.add(hash)

    async def _compile_and_store(self, scene_id: uuid.UUID, hash: str, code: str) -> Built:
        # No existence check first: on a first run or after a compiler upgrade nearly every hash is new,
        # and a compile (~1 ms of Node) is cheaper than a HEAD on S3; `put` of an existing hash is a no-op.
        # Straight to storage: warming the server's L1 here would cost more than the compile.
        try:
            module = await self.service.compile_measured(hash, code, scene_id, source="backfill")
        except CompileError as e:
            if e.is_source_error:
                if len(self._source_errors) >= _KNOWN_CAP:
                    self._source_errors.clear()
                self._source_errors[hash] = e
            raise
        put_started = time.perf_counter()
        if module.map is not None:  # before the module, as the tiers do: a stored module has its map
            await self.store.put(module.hash, seal_map(module.map), "map")
        await self.store.put(module.hash, seal(module.code))
        metrics.STORAGE_SECONDS.labels("put").observe(time.perf_counter() - put_started)
        self.known_stored(hash)
        return Built(module.hash, self.service.url_for(module.hash))


def _is_current(scene: Scene, current_hash: str) -> bool:
    return scene.compiled_hash == current_hash and not scene.compilation_error


class Backfill:
    """One run over the scene table: `await run()` returns its statistics; `stop()` ends it early
    (what is recorded stays; a re-run resumes). `on_progress` is called as scenes are scanned."""

    def __init__(self, service: CompilationService, *, batch_size: int = 100, concurrency: int = 8,
                 dry_run: bool = False, limit: int | None = None, report: TextIO | None = None,
                 on_progress: Callable[[BackfillStats], None] | None = None) -> None:
        self.service = service
        self.batch_size, self.concurrency, self.dry_run, self.limit = batch_size, concurrency, dry_run, limit
        self.report = report
        self.on_progress = on_progress
        self.stats = BackfillStats(dry_run=dry_run)
        self._builder = _Builder(service)
        self._queue: asyncio.Queue[tuple[Scene, str] | None] = asyncio.Queue(
            maxsize=max(batch_size, concurrency) * 2)
        # Set when the run is interrupted. Cancelling the lanes should be enough, but a cancellation
        # that lands as an awaited result arrives can be lost on Python 3.11 (seen in the killed-midway
        # test: a lane went on through the whole queue); a lane checks this before recording and
        # before taking the next scene, so a stopped run records nothing more.
        self._stopping = asyncio.Event()
        self._lanes: list[asyncio.Task[None]] = []
        self._producer: asyncio.Task[None] | None = None
        self._stop_requested = False

    async def run(self) -> BackfillStats:
        log_filter = _SceneIdFilter()
        log.addFilter(log_filter)
        # Storage calls run in threads (boto3 is CPU-heavy); with the default 5 ms GIL switch interval
        # the event loop waits behind them on every syscall. A shorter interval keeps the pipeline fed.
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(switch_interval, 0.0005))
        try:
            self._lanes = [asyncio.create_task(self._lane()) for _ in range(0 if self.dry_run else self.concurrency)]
            self._producer = asyncio.create_task(self._produce_then_close())
            try:
                await asyncio.gather(self._producer, *self._lanes)
            except BaseException:  # listing failed or interrupted: stop now; a re-run resumes
                self._halt()
                await asyncio.gather(self._producer, *self._lanes, return_exceptions=True)
                raise
        finally:
            sys.setswitchinterval(switch_interval)
            log.removeFilter(log_filter)
        return self.stats

    def stop(self) -> None:
        """End the run gently: each lane finishes the scene in its hands (a compile already done is
        not recorded), nothing new is started, and run() returns the statistics so far."""
        self._stop_requested = True
        self._stopping.set()  # the producer sees it at its next scene
        while not self._queue.empty():  # what was queued is left for the next run
            self._queue.get_nowait()
        for _ in self._lanes:
            self._queue.put_nowait(None)  # wakes the idle lanes; the busy ones see the flag next

    def _halt(self) -> None:
        self._stopping.set()
        for task in (self._producer, *self._lanes):
            if task is not None:
                task.cancel()

    async def _produce_then_close(self) -> None:
        await self._produce()
        if self._stopping.is_set():
            return  # stop() told the lanes already
        for _ in self._lanes:
            await self._queue.put(None)  # after the queued work: each lane finishes it, then stops

    def _progress(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.stats)

    async def _produce(self) -> None:
        repo, compiler, stats, limit = self.service.repo, self.service.compiler, self.stats, self.limit
        after: uuid.UUID | None = None
        while (limit is None or stats.stale < limit) and not self._stopping.is_set():
            page = await repo.list_after(after, self.batch_size)
            if not page:
                return
            after = page[-1].id
            for scene in page:
                if (limit is not None and stats.stale >= limit) or self._stopping.is_set():
                    return
                stats.scanned += 1
                current = compiler.hash_of(scene.tsx_code)
                if _is_current(scene, current):
                    stats.unchanged += 1
                    self._builder.known_stored(current)  # a stale copy of this code needs no compile
                    continue
                stats.stale += 1
                if not self.dry_run:
                    await self._queue.put((scene, current))
            self._progress()

    async def _lane(self) -> None:
        while not self._stopping.is_set() and (item := await self._queue.get()) is not None:
            await self._one(*item)
            self._progress()

    async def _one(self, scene: Scene, hash: str) -> None:
        _current_scene.set(str(scene.id))
        for n in range(1, RETRIES + 1):
            try:
                outcome, kind = await self._compile(scene, hash)
                if self._stopping.is_set():
                    return  # compiled while the run was being stopped: left for the next run
                recorded = await self.service.repo.record_compilation(scene.id, scene.tsx_code, outcome)
                break
            except Exception as e:  # ours: compiler timeout/crash/overload, storage or database trouble
                if n < RETRIES:
                    await asyncio.sleep(RETRY_DELAY * n)
                    continue
                if isinstance(e, CompileError):
                    self._failed(scene, e.describe(), e.kind)
                else:
                    self._failed(scene, f"{type(e).__name__}: {e}", "internal")
                return  # not recorded: the scene stays pending for the next request or run
        if not recorded:
            self.stats.skipped_edited += 1
            return
        if outcome.hash is not None:  # counted before anything else can be interrupted
            self.stats.compiled += 1
        else:
            self._failed(scene, outcome.error or "", kind)
        await self.service.announce_recorded(scene, outcome)

    async def _compile(self, scene: Scene, hash: str) -> tuple[Compilation, str]:
        """The outcome to record and its kind; raises a failure of ours (CompileError or other)."""
        try:
            built = await self._builder.build(scene.id, scene.tsx_code, hash)
        except CompileError as e:
            if not e.is_source_error:
                raise
            return Compilation(hash=None, url=None, error=e.describe()), e.kind
        return Compilation(hash=built.hash, url=built.url, error=None), "ok"

    def _failed(self, scene: Scene, error: str, kind: str) -> None:
        self.stats.failed += 1
        if self.report is not None:
            self.report.write(orjson.dumps({"id": str(scene.id), "kind": kind, "error": error}).decode() + "\n")
            self.report.flush()
