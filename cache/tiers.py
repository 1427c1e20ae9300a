"""Read-through artifact tiers, the one place the fill policy lives:

    get(hash):  L1 (this process, bytes-bounded LRU, encodings precomputed)
             -> L2 (Redis, shared by every process; optional)
             -> L3 (object storage: local dir or S3/R2)
    A hit in a lower tier fills every tier above it. Concurrent misses of one hash in a process share
    one read (a cold node under a burst reads each object once, not once per request). Bytes read
    from L2 or L3 are verified against their seal (core/artifact.py) before they are served or
    cached; a corrupt copy counts as a miss and is logged; a corrupt L2 copy is replaced by the good
    one read from storage, a corrupt stored copy is deleted so the next compile rewrites it.
    put(hash):  L3 first (durable), then L2, then L1: a tier never holds what storage does not.
Artifacts are immutable, so no tier ever invalidates one.

Source maps (`<hash>.js.map`) live beside their modules in storage and, once read, in an L1 of their
own (an eighth of the artifact budget), so a devtools session or an error report never evicts a
module from the hot path. They skip L2: they are read rarely, and storage is their durable home.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

import brotli

from cache.lru import ByteLRU
from cache.singleflight import SingleFlight
from core import metrics
from core.artifact import seal, seal_map, unseal, unseal_map
from core.storage import ArtifactStore, ObjectKind

log = logging.getLogger("artifact_proxy.cache")


# What the layer above precomputes once per artifact for serving it (the HTTP layer: headers per
# encoding and for 304), from its ETag. The cache stores it beside the bytes and never looks inside.
Presenter = Callable[[str], Mapping[str, Mapping[str, str]]]


def _nothing(_etag: str) -> Mapping[str, Mapping[str, str]]:
    return {}


@dataclass(frozen=True, slots=True)
class Artifact:
    """What the hot path serves: the sealed bytes and their encodings, computed once per process, and
    what the serving layer precomputed for them (`served`). `br` is None until the background brotli
    pass finishes; gzip is served meanwhile, so the bytes of each encoding never change under one ETag."""

    hash: str
    identity: bytes
    gzip: bytes
    br: bytes | None
    etag: str
    served: Mapping[str, Mapping[str, str]]  # the Presenter's answer (HTTP: headers per encoding, "304")
    kind: ObjectKind = "module"

    @property
    def weight(self) -> int:
        return len(self.identity) + len(self.gzip) + len(self.br or b"") + 600

    def body(self, encoding: str) -> bytes:
        if encoding == "br" and self.br is not None:
            return self.br
        return self.gzip if encoding == "gzip" else self.identity


def encode(hash: str, sealed: bytes, present: Presenter = _nothing, kind: ObjectKind = "module") -> Artifact:
    # mtime=0 keeps gzip bytes deterministic, so every node sends identical bodies for one ETag
    etag = f'"{hash}"' if kind == "module" else f'"{hash}.map"'
    return Artifact(hash, sealed, gzip.compress(sealed, 9, mtime=0), None, etag, present(etag), kind)


def with_brotli(artifact: Artifact, quality: int = 11) -> Artifact:
    br = brotli.compress(artifact.identity, quality=quality, mode=brotli.MODE_TEXT)
    return Artifact(artifact.hash, artifact.identity, artifact.gzip, br, artifact.etag, artifact.served,
                    artifact.kind)


class SharedTier(Protocol):
    """L2: a cache shared by every process (Redis). Failures must not raise: a down L2 is a miss."""

    async def get_artifact(self, hash: str) -> bytes | None: ...

    async def set_artifact(self, hash: str, sealed: bytes) -> None: ...


class ArtifactTiers:
    def __init__(self, store: ArtifactStore, l1_max_bytes: int, l2: SharedTier | None = None,
                 present: Presenter = _nothing, present_map: Presenter = _nothing) -> None:
        self.store = store
        self.l2 = l2
        self.present = present
        self.present_map = present_map
        self.l1: ByteLRU[str, Artifact] = ByteLRU(l1_max_bytes, lambda a: a.weight)
        self.maps: ByteLRU[str, Artifact] = ByteLRU(l1_max_bytes // 8, lambda a: a.weight)
        self._brotli_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="brotli")
        self._brotli_pending: set[str] = set()
        # hashes nobody could serve lately: a flood of random misses costs one storage read per hash
        self._missing: dict[str, float] = {}
        self._reads: SingleFlight[str, Artifact | None] = SingleFlight()

    MISSING_SECONDS = 5.0
    MISSING_MAX_ENTRIES = 50_000

    def known_missing(self, hash: str) -> bool:
        until = self._missing.get(hash)
        if until is None:
            return False
        if time.monotonic() < until:
            return True
        del self._missing[hash]
        return False

    def note_missing(self, hash: str) -> None:
        if len(self._missing) >= self.MISSING_MAX_ENTRIES:
            self._missing.clear()  # a flood of distinct hashes: start over rather than grow
        self._missing[hash] = time.monotonic() + self.MISSING_SECONDS

    def peek(self, hash: str) -> Artifact | None:
        """L1 only: the hot path, no I/O, no await."""
        return self.l1.get(hash)

    async def get(self, hash: str) -> Artifact | None:
        hit = self.l1.get(hash)
        if hit is not None:
            metrics.L1_ARTIFACT_HIT.inc()
            return hit
        metrics.CACHE_LOOKUPS.labels("l1", "artifact", "miss").inc()
        found, _shared = await self._reads.do(hash, lambda: self._read_below(hash))
        return found

    async def _read_below(self, hash: str) -> Artifact | None:
        sealed = await self._from_l2(hash)
        if sealed is None:
            sealed = await self._from_storage(hash)
            if sealed is None:
                return None
            if self.l2 is not None:
                await self.l2.set_artifact(hash, sealed)
        return await self._fill_l1(hash, sealed)

    async def put(self, hash: str, code: bytes) -> Artifact:
        """Seal and store a freshly compiled module in every tier; returns the served form."""
        self._missing.pop(hash, None)
        sealed = seal(code)
        started = time.perf_counter()
        await self.store.put(hash, sealed)
        metrics.STORAGE_SECONDS.labels("put").observe(time.perf_counter() - started)
        if self.l2 is not None:
            await self.l2.set_artifact(hash, sealed)
        return await self._fill_l1(hash, sealed)

    async def put_map(self, hash: str, data: bytes) -> None:
        """Seal and store a module's source map. Called before the module's put: storage never holds
        a module whose map a crash lost (a map without its module is harmless)."""
        self._missing.pop(f"map:{hash}", None)
        sealed = seal_map(data)
        started = time.perf_counter()
        await self.store.put(hash, sealed, "map")
        metrics.STORAGE_SECONDS.labels("put").observe(time.perf_counter() - started)

    async def get_map(self, hash: str) -> Artifact | None:
        """The module's source map (L1 of maps, then storage, verified), or None."""
        hit = self.maps.get(hash)
        if hit is not None:
            return hit
        if self.known_missing(f"map:{hash}"):
            return None
        started = time.perf_counter()
        data = await self.store.get(hash, "map")
        metrics.STORAGE_SECONDS.labels("get").observe(time.perf_counter() - started)
        if data is None:
            self.note_missing(f"map:{hash}")
            return None
        if unseal_map(data) is None:
            self._corrupt("storage", hash)
            await self.store.delete(hash, "map")
            return None
        if len(data) > 64 * 1024:
            found = await asyncio.to_thread(encode, hash, data, self.present_map, "map")
        else:
            found = encode(hash, data, self.present_map, "map")
        self.maps.put(hash, found)
        return found

    async def contains(self, hash: str) -> bool:
        """Whether storage already holds this artifact (identical code in two scenes shares it)."""
        if hash in self.l1:
            return True
        return await self.get(hash) is not None

    async def _from_l2(self, hash: str) -> bytes | None:
        if self.l2 is None:
            return None
        data = await self.l2.get_artifact(hash)
        if data is None:
            metrics.CACHE_LOOKUPS.labels("l2", "artifact", "miss").inc()
            return None
        if unseal(data) is None:
            self._corrupt("l2", hash)
            return None
        metrics.CACHE_LOOKUPS.labels("l2", "artifact", "hit").inc()
        return data

    async def _from_storage(self, hash: str) -> bytes | None:
        started = time.perf_counter()
        data = await self.store.get(hash)
        metrics.STORAGE_SECONDS.labels("get").observe(time.perf_counter() - started)
        if data is None:
            metrics.CACHE_LOOKUPS.labels("storage", "artifact", "miss").inc()
            return None
        if unseal(data) is None:
            self._corrupt("storage", hash)
            await self.store.delete(hash)  # so the repair compile can write a good copy
            return None
        metrics.CACHE_LOOKUPS.labels("storage", "artifact", "hit").inc()
        return data

    def _corrupt(self, tier: str, hash: str) -> None:
        metrics.INTEGRITY_FAILURES.labels(tier).inc()
        log.warning("artifact failed its digest; treated as a miss",
                    extra={"event": "integrity_failure", "tier": tier, "hash": hash})

    async def _fill_l1(self, hash: str, sealed: bytes) -> Artifact:
        # gzip-9 of a typical module is ~0.1 ms; only large ones are worth a thread hop
        if len(sealed) > 64 * 1024:
            artifact = await asyncio.to_thread(encode, hash, sealed, self.present)
        else:
            artifact = encode(hash, sealed, self.present)
        self._store_l1(artifact)
        return artifact

    def want_brotli(self, artifact: Artifact) -> None:
        """A br-capable client asked for an artifact without its brotli body: make it, off the request
        path. Demand-driven and bounded (one thread, a few pending), so a storm of misses never
        queues thousands of multi-millisecond compressions; until it is ready, gzip is served."""
        key = artifact.etag  # a module and its map share a hash, never an ETag
        if artifact.br is not None or key in self._brotli_pending or len(self._brotli_pending) >= 32:
            return
        self._brotli_pending.add(key)
        future = asyncio.get_running_loop().run_in_executor(self._brotli_thread, with_brotli, artifact)
        future.add_done_callback(lambda f: self._brotli_done(key, artifact, f))

    def _brotli_done(self, key: str, artifact: Artifact, future: asyncio.Future[Artifact]) -> None:
        self._brotli_pending.discard(key)
        if future.cancelled() or future.exception() is not None:
            return  # gzip keeps being served; nothing is lost
        if artifact.kind == "map":
            if artifact.hash in self.maps:
                self.maps.put(artifact.hash, future.result())
        elif artifact.hash in self.l1:  # not evicted meanwhile
            self._store_l1(future.result())

    def _store_l1(self, artifact: Artifact) -> None:
        self.l1.put(artifact.hash, artifact)
        metrics.L1_BYTES.set(self.l1.bytes)
