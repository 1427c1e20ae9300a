"""sceneId -> resolved artifact, the second thing the cache holds (the first is artifact bytes).

A mapping changes when a scene is edited, so unlike artifacts it expires: a TTL is the backstop,
explicit invalidation (local, and cluster-wide through the shared tier) is the fast path. An expired
entry is kept a while longer so the service can serve it stale when the database is down."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Generic, TypeVar

V = TypeVar("V")


@dataclass(slots=True)
class _Entry(Generic[V]):
    value: V
    fresh_until: float
    stale_until: float


class MappingCache(Generic[V]):
    def __init__(self, ttl_seconds: float, stale_seconds: float = 3600.0, max_entries: int = 200_000) -> None:
        self.ttl = ttl_seconds
        self.stale = stale_seconds
        self.max_entries = max_entries
        self._entries: dict[uuid.UUID, _Entry[V]] = {}
        self._invalidated: dict[uuid.UUID, float] = {}
        self._cleared_at = -1.0

    def get(self, key: uuid.UUID, *, allow_stale: bool = False, now: float | None = None) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        now = time.monotonic() if now is None else now
        if now < entry.fresh_until or (allow_stale and now < entry.stale_until):
            return entry.value
        return None

    def put(self, key: uuid.UUID, value: V, ttl: float | None = None, started: float | None = None) -> None:
        """`started`: when the caller began reading what it stores. If the key was invalidated after
        that, the value may predate the edit and is not stored."""
        now = time.monotonic()
        if started is not None and (started <= self._cleared_at or self._invalidated.get(key, -1.0) >= started):
            return
        ttl = self.ttl if ttl is None else ttl
        if key not in self._entries and len(self._entries) >= self.max_entries:
            self._entries.pop(next(iter(self._entries)))  # oldest insertion first: cheap, good enough
        self._entries[key] = _Entry(value, now + ttl, now + ttl + self.stale)

    def invalidate(self, key: uuid.UUID) -> None:
        self._entries.pop(key, None)
        now = time.monotonic()
        self._invalidated[key] = now
        if len(self._invalidated) > 10_000:  # only recent invalidations can race a reader
            self._invalidated = {k: t for k, t in self._invalidated.items() if now - t < 30}

    def clear(self) -> None:
        self._entries.clear()
        self._invalidated.clear()
        self._cleared_at = time.monotonic()

    def __len__(self) -> int:
        return len(self._entries)
