"""A project's scenes as one module: what `GET /api/projects/{projectId}/components` serves.

A player that shows a project needs every scene, and in a browser each separate module costs a
fetch, a compile and an evaluation on the main thread; one module for the project loads several
times faster (BENCHMARKS.md). Each scene contributes exactly what its own URL would serve: its
current artifact, its last good one when an edit does not compile, else the module that renders
its error; scenes never compiled are compiled first, like on a miss.

The bundle's hash covers its inputs (the compiler fingerprint and each scene's id + artifact), so
like a scene artifact it is computed without building, stored once, served immutable, and shared
by every node: an edit to any scene moves the hash, so the next (no-cache) revalidation gets the new module.

What a project resolves to is kept in L1 like a scene's mapping (cache/mapping.py), so a repeat view
costs no database query: every write to a scene of the project (create, edit, recorded compile)
touches the project id's stamp on the invalidation board and publishes it to the other nodes, and
the mapping TTL bounds what rows written behind the proxy's back can hide. When the database is
down, the last known module keeps being served (stale-if-error), as for scenes.

A miss is cheap: the project's scenes are counted first (404/422 before anything else is read), then
read as heads: ids, labels, compiled_hash and the hash the current source compiles to, which the
database computes (`SceneRepository.project_heads`). A scene whose compiled_hash matches needs
nothing more; only a stale scene's source is read, by id, to compile it. So a warm miss of 50 scenes
of 64 KB moves about 50 short rows instead of 3.2 MB of code (BENCHMARKS.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import cast

from cache.mapping import MappingCache
from cache.singleflight import SingleFlight
from cache.tiers import ArtifactTiers
from core import metrics
from core.artifact import with_map_comment
from core.scenes import DatabaseUnavailable, SceneHead, SceneRepository
from proxy.errors import CompileError, ProjectNotFound, ProjectTooLarge, StorageUnavailable
from proxy.project_module import ScenePart, assemble_with_offsets, index_map
from proxy.service import CHANGED_WHILE_COMPILING, Built, CompilationService, Flight, Resolution

BUNDLE_REVISION = "4"  # bump when the layout changes without the compiler changing (4: the source map)


@dataclass(frozen=True, slots=True)
class SceneInput:
    scene_id: str
    ref: str  # the artifact hash, or `error-<digest>` for a scene served as its error module
    error: str | None  # the current code's compile error, if any (the bundle may still hold a good artifact)
    error_module: bytes | None = None  # what the scene contributes when it has no good artifact
    name: str | None = None  # the table's labels, exported by the module (so they are in its hash too)
    duration: int | None = None


@dataclass(frozen=True, slots=True)
class Refused:
    """A project answered 404 (no scenes) or 422 (too many), cached briefly like a mapping."""

    error: ProjectNotFound | ProjectTooLarge


REFUSAL_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class ProjectBundle:
    hash: str
    url: str
    scenes: int
    errors: int  # scenes whose current code does not compile (served last good, or as their error)


class ProjectBundles:
    def __init__(self, service: CompilationService, *, repo: SceneRepository, tiers: ArtifactTiers,
                 flight: Flight, fingerprint: str, cache: MappingCache[ProjectBundle | Refused], max_scenes: int,
                 compile_concurrency: int, negative_ttl: float, max_bytes: int = 16 * 1024 * 1024) -> None:
        """`service` resolves and serves single scenes; the rest is what a project needs of its own."""
        self.service = service
        self.repo = repo
        self.tiers = tiers
        self.flight = flight
        self.fingerprint = fingerprint  # the compiler's: part of every module's hash
        self.cache = cache
        self.max_scenes = max_scenes
        self.negative_ttl = negative_ttl
        self.max_bytes = max_bytes  # each scene is bounded; so is their sum, before it reaches any cache
        self._compiles = asyncio.Semaphore(compile_concurrency)
        self._resolving: SingleFlight[uuid.UUID, ProjectBundle] = SingleFlight()

    async def resolve(self, project_id: uuid.UUID,
                      admission: Callable[[], AbstractContextManager[None]]) -> ProjectBundle:
        cached, expired = self.cache.lookup(project_id)
        if isinstance(cached, Refused) and not expired:
            raise cached.error  # a 404/422 answered moments ago: no database read for a repeat
        # only while this process holds the module's bytes: anything less re-checks storage below
        if isinstance(cached, ProjectBundle) and not expired and self.tiers.peek(cached.hash) is not None:
            metrics.L1_PROJECT_HIT.inc()
            metrics.PROJECT_BUNDLE_HIT.inc()
            return cached
        metrics.CACHE_LOOKUPS.labels("l1", "project", "miss").inc()
        # concurrent misses for one project share one read and one build
        return (await self._resolving.do(project_id, lambda: self._resolve_uncached(project_id, admission)))[0]

    async def _resolve_uncached(self, project_id: uuid.UUID,
                                admission: Callable[[], AbstractContextManager[None]]) -> ProjectBundle:
        ticket = self.cache.ticket(project_id)  # before the read: a write meanwhile voids what it finds
        try:
            count = await self.repo.count_project(project_id)  # refuse before reading any source
            if count == 0:
                raise ProjectNotFound(str(project_id))
            if count > self.max_scenes:
                raise ProjectTooLarge(f"project has more than {self.max_scenes} scenes; import them one by one")
            # ids and hashes only: a scene whose artifact is current needs nothing more (its source
            # is read, by id, only when it has to be compiled)
            scenes = await self.repo.project_heads(project_id, self.max_scenes + 1, self.fingerprint)
        except DatabaseUnavailable:
            known = self.cache.last_known(project_id)
            if isinstance(known, ProjectBundle) and await self.tiers.contains(known.hash):
                return known  # stale-if-error: a module that was right a moment ago beats a 503
            raise
        except (ProjectNotFound, ProjectTooLarge) as e:
            self.cache.put(project_id, Refused(e), ticket, REFUSAL_SECONDS)  # a write to it voids this at once
            raise
        bundle, transient = await self._resolve_scenes(scenes, project_id, admission)
        self.cache.put(project_id, bundle, ticket, self.negative_ttl if transient else None)
        return bundle

    async def _resolve_scenes(self, scenes: list[SceneHead], project_id: uuid.UUID,
                              admission: Callable[[], AbstractContextManager[None]]) -> tuple[ProjectBundle, bool]:
        """(the bundle, whether any scene in it is a fallback for a failure of ours)."""
        if not scenes:
            raise ProjectNotFound(str(project_id))
        if len(scenes) > self.max_scenes:
            raise ProjectTooLarge(f"project has more than {self.max_scenes} scenes; import them one by one")
        known = [self.service.resolution_for(scene, scene.code_hash) for scene in scenes]
        if any(r is None for r in known):  # some scene was never compiled (or its compiler changed)
            with admission():  # one admission for the project: its compiles are bounded below
                known = await asyncio.gather(*(self._settle(s, r) for s, r in zip(scenes, known, strict=True)))
        settled = cast(list[Resolution], known)  # every None was settled above
        inputs = [self._input(scene, r) for scene, r in zip(scenes, settled, strict=True)]
        key = self.hash_of(inputs)
        built = await self._ensure(key, inputs)
        errors = sum(1 for i in inputs if i.error)
        transient = any(r.transient for r in known if r is not None)
        return ProjectBundle(built.hash, built.url, len(inputs), errors), transient

    def hash_of(self, inputs: list[SceneInput]) -> str:
        h = hashlib.sha256(f"project-bundle {BUNDLE_REVISION}\n{self.fingerprint}\n".encode())
        for i in inputs:
            h.update(f"{i.scene_id} {i.ref} {i.duration}\n{i.name!r}\n".encode())
        return h.hexdigest()[:16]

    async def _settle(self, scene: SceneHead, known: Resolution | None) -> Resolution:
        if known is not None:
            return known
        async with self._compiles:
            try:
                return await self.service.resolve(scene.id)
            except CompileError as e:  # ours (timeout, crash): this scene shows its error, the project answers
                if e.kind == "overloaded":
                    raise
                return Resolution(None, None, e.describe(), transient=True)

    @staticmethod
    def _input(scene: SceneHead, resolution: Resolution) -> SceneInput:
        if resolution.hash is not None:
            return SceneInput(str(scene.id), resolution.hash, resolution.error, None, scene.name, scene.duration)
        if resolution.transient and resolution.error in (None, CHANGED_WHILE_COMPILING):
            # nothing to serve *yet* (edited mid-compile): never freeze that. A failure of ours is served
            # as the scene's error module (the project's mapping keeps it only briefly: transient).
            raise CompileError(resolution.error or "scene is being compiled; retry", kind="timeout")
        error = resolution.error or "compile failed"
        module = CompilationService.error_module(error)
        return SceneInput(str(scene.id), f"error-{hashlib.sha256(module).hexdigest()[:16]}", error, module,
                          scene.name, scene.duration)

    async def _ensure(self, key: str, inputs: list[SceneInput]) -> Built:
        if await self.tiers.contains(key):
            metrics.PROJECT_BUNDLES.labels("hit").inc()
            return Built(key, self.service.url_for(key))
        return await self.flight.run(key, lambda: self._build(key, inputs))

    async def _build(self, key: str, inputs: list[SceneInput]) -> Built:
        if await self.tiers.contains(key):  # built elsewhere while this process waited for the lease
            return Built(key, self.service.url_for(key))
        parts: list[ScenePart] = []
        for i in inputs:
            if i.error_module is not None:
                parts.append(ScenePart(i.scene_id, i.error_module, None, i.name, i.duration))
                continue
            artifact = await self.service.artifact(i.ref)
            if artifact is None:  # lost and not rebuildable: never store a bundle with a hole in it
                raise StorageUnavailable(f"artifact {i.ref} of scene {i.scene_id} is missing from storage")
            parts.append(ScenePart(i.scene_id, artifact.identity, self.service.url_for(i.ref), i.name, i.duration))
        code, offsets = assemble_with_offsets(parts)  # no bundler: each scene's artifact in its own function scope
        if len(code) > self.max_bytes:
            raise ProjectTooLarge(f"the project's module would be {len(code)} bytes (limit {self.max_bytes}); "
                                  "import its scenes one by one")
        sections = []
        for i, line in zip(inputs, offsets, strict=True):
            scene_map = None if line is None or i.error_module is not None else await self.service.source_map(i.ref)
            if scene_map is not None and line is not None:  # a scene without a map is only left unmapped
                sections.append((i.scene_id, line, scene_map.identity))
        if sections:  # the map first, as for a scene: a stored module always has its map
            await self.tiers.put_map(key, index_map(sections))
            code = with_map_comment(code, key)
        await self.tiers.put(key, code)
        metrics.PROJECT_BUNDLES.labels("built").inc()
        return Built(key, self.service.url_for(key))
