"""CompilationService: the domain between the routes and the cache/storage/compiler.

A scene resolves to the artifact of its current code. The artifact's hash covers the code and the
compiler, so "is the stored artifact current?" is `compiler.hash_of(code) == compiled_hash`, without
compiling. When the current code does not compile, the last good artifact keeps being served and
the error is reported beside it; a scene that never compiled gets a module that renders its error.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from cache.failures import FailureMemory, KnownFailure, is_remembered, recorded_for_other_source, recorded_text
from cache.mapping import MappingCache
from cache.singleflight import SingleFlight
from cache.tiers import Artifact, ArtifactTiers
from core import metrics
from core.compiler import CompiledModule, CompileError, Compiler
from core.scenes import Compilation, DatabaseUnavailable, Scene, SceneChange, SceneHead, SceneRepository
from proxy.compiler import render_error_module
from proxy.errors import InvalidScene, SceneExists, SceneNotFound, StorageUnavailable
from proxy.invalidation import Invalidation, SharedMappings

log = logging.getLogger("artifact_proxy.compile")

MAX_BACKGROUND_PENDING = 1024  # scenes queued for a compile nobody waits on

Status = Literal["ready", "error", "pending"]


@dataclass(frozen=True, slots=True)
class Resolution:
    """Where a scene request goes: an artifact (maybe the last good one) and/or the current error."""

    hash: str | None
    url: str | None
    error: str | None  # the current code's compile error, `LINE:COL: message`
    version: int = 0  # the scene's updated_at in microseconds: a newer mapping always wins in L2
    transient: bool = False  # a fallback for a failure of ours: cached briefly, never shared

    def to_json(self) -> dict[str, object]:
        return {"hash": self.hash, "url": self.url, "error": self.error, "version": self.version}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Resolution:
        def opt(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) else None

        version = data.get("version")
        return cls(opt("hash"), opt("url"), opt("error"), version if isinstance(version, int) else 0)


@dataclass(frozen=True, slots=True)
class Built:
    hash: str
    url: str


class Flight(Protocol):
    """Runs `work` once per key across every caller that can see the flight (process or cluster)."""

    async def run(self, key: str, work: Callable[[], Awaitable[Built]]) -> Built: ...


def version_of(scene: Scene | SceneHead) -> int:
    return int(scene.updated_at.timestamp() * 1_000_000) if scene.updated_at else 0


CHANGED_WHILE_COMPILING = "scene changed while compiling; retry"  # nothing to serve yet: a retry, never an error


class CompilationService:
    def __init__(self, *, repo: SceneRepository, compiler: Compiler, tiers: ArtifactTiers,
                 mappings: MappingCache[Resolution], flight: Flight, public_base_url: str | None,
                 negative_ttl: float, shared: SharedMappings | None = None,
                 invalidation: Invalidation | None = None, background_compiles: int = 2,
                 failures: FailureMemory | None = None, record_failures_after: int = 3,
                 retry_claim_seconds: float = 30.0, source_maps: bool = True) -> None:
        self.repo = repo
        self.compiler = compiler
        self.tiers = tiers
        self.mappings = mappings
        self.flight = flight
        self.base = public_base_url or ""
        self.negative_ttl = negative_ttl
        self.shared = shared
        self.invalidation = invalidation or Invalidation(mappings, shared=shared)
        self._resolving: SingleFlight[uuid.UUID, Resolution] = SingleFlight()
        self._refreshing: set[asyncio.Future[tuple[Resolution, bool]]] = set()
        # compiles started by a change the product made (so its first view finds the artifact ready)
        self._background = asyncio.Semaphore(background_compiles)
        self._background_pending: set[uuid.UUID] = set()
        self._background_tasks: set[asyncio.Future[None]] = set()
        # our own failures per source hash (timeout, crash, too-large): a failure costs once
        self.failures = failures or FailureMemory(10.0, 600.0)
        self.record_failures_after = record_failures_after
        self.retry_claim_seconds = retry_claim_seconds
        self._retries: set[asyncio.Task[None]] = set()
        self.source_maps = source_maps  # whether the compiler writes maps (a lost one is then rebuilt)
        self._map_repairs: SingleFlight[str, CompiledModule] = SingleFlight()  # a rare repair: per process

    def url_for(self, hash: str) -> str:
        return f"{self.base}/components/{hash}.js"

    # --- compile + store ------------------------------------------------------------------------

    async def build(self, code: str, scene_id: uuid.UUID | None = None) -> Built:
        """The artifact for `code`: reused when storage has it, else compiled once cluster-wide."""
        hash = self.compiler.hash_of(code)
        if await self.tiers.contains(hash):
            return Built(hash, self.url_for(hash))
        known = await self.failures.check(hash, self.retry_claim_seconds)
        if known is not None:  # nobody waits on a compile known to fail; one retry runs behind
            failure, retry_now = known
            if retry_now:
                self._retry_in_background(hash, code, scene_id)
            raise failure
        return await self._build_remembering(hash, code, scene_id)

    async def _build_remembering(self, hash: str, code: str, scene_id: uuid.UUID | None) -> Built:
        try:
            return await self.flight.run(hash, lambda: self._compile_and_store(hash, code, scene_id))
        except CompileError as e:
            if not is_remembered(e):
                raise
            count = await self.failures.record(hash, e)
            raise KnownFailure(e.message, kind=e.kind, count=count, retry_in=0.0) from None

    def _retry_in_background(self, hash: str, code: str, scene_id: uuid.UUID | None) -> None:
        async def retry() -> None:
            try:
                await self._build_remembering(hash, code, scene_id)
                self.failures.forget(hash)
            except Exception as e:  # remembered above when it is ours; the log line is enough
                log.info("background retry of a failing source failed: %s", e, extra={"event": "compile_retry"})

        task = asyncio.create_task(retry())
        self._retries.add(task)
        task.add_done_callback(self._retries.discard)

    async def _compile_and_store(self, hash: str, code: str, scene_id: uuid.UUID | None = None) -> Built:
        # another process may have finished while this one waited for the lease
        if await self.tiers.contains(hash):
            return Built(hash, self.url_for(hash))
        module = await self.compile_measured(hash, code, scene_id)
        if module.map is not None:  # first: a stored module always has its map
            await self.tiers.put_map(module.hash, module.map)
        await self.tiers.put(module.hash, module.code)
        return Built(module.hash, self.url_for(module.hash))

    async def compile_measured(self, hash: str, code: str, scene_id: uuid.UUID | None = None,
                               **log_fields: object) -> CompiledModule:
        """Compile with the compile metrics and one structured log line, whoever stores the result."""
        started = time.perf_counter()
        fields = {"event": "compile", "sceneId": scene_id and str(scene_id), **log_fields}
        try:
            module = await self.compiler.compile(code)
        except CompileError as e:
            elapsed = time.perf_counter() - started
            metrics.COMPILE_SECONDS.observe(elapsed)
            metrics.COMPILES.labels("error").inc()
            metrics.COMPILE_ERRORS.labels(e.kind).inc()
            log.info("compile failed", extra={**fields, "hash": hash, "outcome": "error", "kind": e.kind,
                                              "ms": round(elapsed * 1000, 2)})
            raise
        elapsed = time.perf_counter() - started
        metrics.COMPILE_SECONDS.observe(elapsed)
        metrics.COMPILES.labels("ok").inc()
        log.info("compiled", extra={**fields, "hash": module.hash, "outcome": "ok",
                                    "ms": round(elapsed * 1000, 2), "bytes": len(module.code)})
        return module

    # --- scenes ---------------------------------------------------------------------------------

    def status_of(self, scene: Scene) -> Status:
        current = self.compiler.hash_of(scene.tsx_code)
        if scene.compilation_error and not recorded_for_other_source(scene.compilation_error, current):
            return "error"
        if scene.compiled_hash and scene.compiled_hash == current:
            return "ready"
        return "pending"

    async def compile_scene(self, scene: Scene, *, purge_edge: bool = True) -> Scene:
        """Compile the scene's current code and record the outcome (compare-and-set on the code).

        Errors of the code are recorded; errors of ours (timeout, crash, overload) are not, so the
        scene stays pending and the next request retries."""
        ticket = self.mappings.ticket(scene.id)  # a change that arrives meanwhile must win over this
        try:
            built = await self.build(scene.tsx_code, scene.id)
            outcome = Compilation(hash=built.hash, url=built.url, error=None)
        except KnownFailure as e:
            if e.is_source_error:  # too-large: the scene's fault, recorded like a syntax error
                outcome = Compilation(hash=None, url=None, error=e.describe())
            elif e.count >= self.record_failures_after:  # so every node stops retrying; an edit clears it
                text = recorded_text(e, self.compiler.hash_of(scene.tsx_code))
                outcome = Compilation(hash=None, url=None, error=text)
            else:
                raise
        except CompileError as e:
            if not e.is_source_error:
                raise
            outcome = Compilation(hash=None, url=None, error=e.describe())
        await self.repo.record_compilation(scene.id, scene.tsx_code, outcome)
        fresh = await self.repo.get(scene.id)
        if fresh is None:  # deleted while it compiled: nobody may keep a mapping to it
            await self.invalidation.scene_saved(scene.id, [scene.project_id], purge_edge=purge_edge)
            raise SceneNotFound(str(scene.id))
        await self._announce(fresh, self.mappings.current(scene.id, ticket), purge_edge=purge_edge)
        return fresh

    async def create_scene(self, scene_id: uuid.UUID, code: str, name: str | None,
                           project_id: uuid.UUID | None, duration: int | None = None) -> Scene:
        project_id = project_id or uuid.uuid4()  # every scene has a project: a new one of its own
        try:
            scene = await self.repo.create(scene_id, code, name, project_id, duration)
        except KeyError:
            raise SceneExists(str(scene_id)) from None
        except ValueError as e:
            raise InvalidScene(str(e)) from None
        # its project's module gains a scene, even if the compile fails; the edge is purged once, when
        # the write is over (write_done), not for the save and again for the compile
        await self.invalidation.scene_saved(scene.id, [project_id], purge_edge=False)
        try:
            return await self._compile_on_write(scene)
        finally:
            await self.invalidation.write_done(scene.id, [project_id])

    async def update_scene(self, scene_id: uuid.UUID, code: str, name: str | None) -> Scene:
        scene = await self.repo.update_code(scene_id, code, name)
        if scene is None:
            raise SceneNotFound(str(scene_id))
        # even if the compile below fails, nobody keeps the old mappings (the edge: once, in write_done)
        await self.invalidation.scene_saved(scene.id, [scene.project_id], purge_edge=False)
        try:
            return await self._compile_on_write(scene)
        finally:
            await self.invalidation.write_done(scene.id, [scene.project_id])

    async def _compile_on_write(self, scene: Scene) -> Scene:
        try:
            return await self.compile_scene(scene, purge_edge=False)  # the write's one purge follows
        except CompileError:
            return scene  # saved; a timeout/overload leaves it pending for the next request

    async def _announce(self, scene: Scene, current: bool = True, *, purge_edge: bool = True) -> None:
        """`current`: no change arrived since the row was read; else the Redis copy is dropped, not
        written, so what this process read cannot outlive a change another one heard of."""
        resolution = self.resolution_of(scene)
        mapping = None
        if current and resolution is not None and resolution.hash is not None:
            mapping = (resolution.version, resolution.to_json())
        await self.invalidation.compiled(scene.id, scene.project_id, mapping, purge_edge=purge_edge)

    async def announce_recorded(self, scene: Scene, outcome: Compilation) -> None:
        """A compile of `scene`'s current code was recorded elsewhere (backfill): the same
        invalidation as compile_scene's, without re-reading the row."""
        mapping = None
        if outcome.hash is not None and outcome.url is not None:
            mapping = (version_of(scene), Resolution(outcome.hash, outcome.url, None, version_of(scene)).to_json())
        await self.invalidation.compiled(scene.id, scene.project_id, mapping)

    # --- changes made outside our API (the product's own writes) --------------------------------

    async def scene_changed(self, change: SceneChange, *, publish: bool = False) -> None:
        """A row changed behind our back (a NOTIFY, or POST /api/scenes/{id}/changed): drop what
        every cache holds for it, then compile it so the first view after the edit does not wait.
        The echo of a write through a proxy's API (`change.writer`) is only dropped here: its node
        compiles it and purges the edge once for it."""
        await self.invalidation.scene_saved(change.scene_id, change.project_ids, publish=publish, purge_edge=False)
        if change.writer is not None:
            return
        # the edge is purged once that compile is over: with the purge the compile's own announcement
        # asks for, and every other node's, it leaves as one purge
        self.compile_soon(change.scene_id,
                          then=lambda: self.invalidation.purge_edge(change.scene_id, change.project_ids))

    async def missed_changes_since(self, since: datetime, *, drop_all: bool = True) -> int:
        """The listener was away: what changed since is re-read and dropped; `drop_all` drops every
        cached mapping too (a hard DELETE leaves no row to find)."""
        if drop_all:
            self.invalidation.gap()
        changes = await self.repo.changed_since(since)
        for change in changes:
            await self.scene_changed(change)
        log.info("re-read changes missed by the listener", extra={"event": "listen_gap", "scenes": len(changes)})
        return len(changes)

    def compile_soon(self, scene_id: uuid.UUID, then: Callable[[], None] | None = None) -> None:
        """Resolve the scene in the background (bounded; a burst beyond the bound compiles on view);
        `then` runs when that is over, or at once when no compile is started here."""
        if scene_id in self._background_pending or len(self._background_pending) >= MAX_BACKGROUND_PENDING:
            if then is not None:
                then()
            return
        self._background_pending.add(scene_id)
        task = asyncio.ensure_future(self._compile_in_background(scene_id))
        self._background_tasks.add(task)
        task.add_done_callback(self._background_tasks.discard)
        if then is not None:
            task.add_done_callback(lambda _task: then())

    async def _compile_in_background(self, scene_id: uuid.UUID) -> None:
        try:
            async with self._background:
                self._background_pending.discard(scene_id)
                await self.resolve(scene_id)
        except (SceneNotFound, CompileError, DatabaseUnavailable, StorageUnavailable) as e:
            log.debug("background compile skipped: %s", e, extra={"event": "compile_soon"})
        except Exception:
            log.exception("background compile failed", extra={"event": "compile_soon"})
        finally:
            self._background_pending.discard(scene_id)

    async def get_scene(self, scene_id: uuid.UUID) -> Scene:
        scene = await self.repo.get(scene_id)
        if scene is None:
            raise SceneNotFound(str(scene_id))
        return scene

    # --- the scene route ------------------------------------------------------------------------

    async def resolve(self, scene_id: uuid.UUID,
                      admission: Callable[[], AbstractContextManager[None]] | None = None) -> Resolution:
        """L1 mapping -> L2 mapping -> the scene row (compiling when its artifact is stale).

        Concurrent misses for one scene share one lookup; only the caller that starts it passes
        `admission` (the per-client compile limit), so waiting on someone else's compile is free."""
        cached = self.mappings.get(scene_id)
        if cached is not None:
            metrics.L1_MAPPING_HIT.inc()
            return cached
        metrics.CACHE_LOOKUPS.labels("l1", "mapping", "miss").inc()
        if admission is None or self._resolving.running(scene_id):
            return (await self._resolving.do(scene_id, lambda: self._resolve_uncached(scene_id)))[0]
        with admission():
            return (await self._resolving.do(scene_id, lambda: self._resolve_uncached(scene_id)))[0]

    def refresh_soon(self, scene_id: uuid.UUID) -> None:
        """Stale-while-revalidate: the caller serves the expired mapping, this re-reads it once."""
        if self._resolving.running(scene_id):
            return
        task = asyncio.ensure_future(self._resolving.do(scene_id, lambda: self._resolve_uncached(scene_id)))
        self._refreshing.add(task)
        task.add_done_callback(self._refresh_done)

    def _refresh_done(self, task: asyncio.Future[tuple[Resolution, bool]]) -> None:
        self._refreshing.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("background mapping refresh failed: %s", task.exception(), extra={"event": "refresh"})

    async def _resolve_uncached(self, scene_id: uuid.UUID) -> Resolution:
        ticket = self.mappings.ticket(scene_id)  # before any read, so an edit meanwhile voids the result
        if self.shared is not None:
            shared = await self.shared.get_mapping(str(scene_id))
            if shared is not None:
                resolution = Resolution.from_json(shared)
                self.mappings.put(scene_id, resolution, ticket)
                return resolution
        try:
            scene = await self.repo.get(scene_id)
        except DatabaseUnavailable:
            stale = self.mappings.last_known(scene_id)
            if stale is not None:
                return stale  # stale-if-error: a redirect to an immutable artifact is still right
            raise
        if scene is None:
            raise SceneNotFound(str(scene_id))
        resolution = await self._resolve_scene(scene)
        if resolution.hash is None or resolution.transient:
            self.mappings.put(scene_id, resolution, ticket, self.negative_ttl)
        else:
            self.mappings.put(scene_id, resolution, ticket)
            if self.shared is not None and self.mappings.current(scene_id, ticket):
                await self.shared.set_mapping(str(scene_id), resolution.version, resolution.to_json())
        return resolution

    def resolution_of(self, scene: Scene) -> Resolution | None:
        """What the scene row says, when it says something definite (None: stale, compile first)."""
        return self.resolution_for(scene, self.compiler.hash_of(scene.tsx_code))

    def resolution_for(self, scene: Scene | SceneHead, current: str) -> Resolution | None:
        """resolution_of for a row whose current code hashes to `current` (a head: the database hashed it)."""
        version = version_of(scene)
        if scene.compiled_hash == current and scene.compiled_url and not scene.compilation_error:
            return Resolution(current, self.url_for(current), None, version)
        if scene.compilation_error and recorded_for_other_source(scene.compilation_error, current):
            return None  # a failure of ours recorded for the code before an edit: compile the new code
        if scene.compilation_error:
            return self._last_good(scene, scene.compilation_error)
        return None

    async def _resolve_scene(self, scene: Scene) -> Resolution:
        known = self.resolution_of(scene)
        if known is not None:
            return known
        try:
            fresh = await self.compile_scene(scene)
        except KnownFailure as e:  # ours, remembered: the last good artifact or the error module, at once
            return self._last_good(scene, e.describe(), transient=True)
        except CompileError as e:  # ours, not the code's (timeout, crash, overload): record nothing
            if e.kind == "overloaded" or not scene.compiled_hash:
                raise  # 429 / 503 with Retry-After: nothing good to serve, and retrying will work
            return self._last_good(scene, e.describe(), transient=True)
        except StorageUnavailable:
            if not scene.compiled_hash:
                raise
            return self._last_good(scene, "storage unavailable; serving the last good version", transient=True)
        known = self.resolution_of(fresh)
        if known is not None:
            return known
        return Resolution(None, None, CHANGED_WHILE_COMPILING, version_of(scene), transient=True)

    def _last_good(self, scene: Scene | SceneHead, error: str, transient: bool = False) -> Resolution:
        if scene.compiled_hash:
            return Resolution(scene.compiled_hash, self.url_for(scene.compiled_hash), error, version_of(scene),
                              transient)
        return Resolution(None, None, error, version_of(scene), transient)

    @staticmethod
    def error_module(error: str) -> bytes:
        return render_error_module(CompileError.from_stored(error))

    # --- the artifact route ---------------------------------------------------------------------

    async def source_map(self, hash: str) -> Artifact | None:
        """The artifact's source map, or None (maps off, an error module, no scene owns the hash).
        A map lost from storage is rebuilt from the scene that owns the hash, as a lost module is:
        error reports would otherwise lose their TSX lines for good. The tiers remember a miss for
        seconds, so a stream of requests for one lost map costs one compile."""
        found = await self.tiers.get_map(hash)
        if found is not None or not self.source_maps:
            return found
        code = await self.repo.find_code_by_hash(hash)
        if code is None or self.compiler.hash_of(code) != hash:
            return None
        known = await self.failures.check(hash, self.retry_claim_seconds)
        if known is not None and not known[1]:
            return None  # this code failed us lately (timeout, crash): no compile before its back-off
        log.warning("source map missing from storage; recompiling", extra={"event": "repair", "hash": hash})
        try:
            module, _ = await self._map_repairs.do(hash, lambda: self.compile_measured(hash, code, None))
        except CompileError:
            return None
        if module.map is None or module.hash != hash:
            return None
        await self.tiers.put_map(hash, module.map)
        return await self.tiers.get_map(hash)

    async def artifact(self, hash: str) -> Artifact | None:
        """Artifact bytes by hash; a missing or corrupt object whose scene is known is recompiled."""
        found = await self.tiers.get(hash)
        if found is not None:
            return found
        code = await self.repo.find_code_by_hash(hash)
        if code is None or self.compiler.hash_of(code) != hash:
            return None
        log.warning("artifact missing from storage; recompiling", extra={"event": "repair", "hash": hash})
        try:
            known = await self.failures.check(hash, self.retry_claim_seconds)
            if known is not None and not known[1]:
                return None  # this code failed us lately (timeout, crash): no repair compile before its back-off
            await self._build_remembering(hash, code, None)
        except CompileError:
            return None
        return await self.tiers.get(hash)
