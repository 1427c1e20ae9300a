"""Artifact storage: immutable bytes under a content hash. Two backends: local directory, S3/R2."""

from __future__ import annotations

from typing import Literal, Protocol

# What is stored under a hash: the module (`<hash>.js`) or its source map (`<hash>.js.map`).
ObjectKind = Literal["module", "map"]
SUFFIX: dict[str, str] = {"module": ".js", "map": ".js.map"}


class StorageUnavailable(Exception):
    """The backend cannot be reached or timed out; the caller decides (503, stale copy, retry)."""


class ArtifactStore(Protocol):
    async def get(self, hash: str, kind: ObjectKind = "module") -> bytes | None:
        """The stored bytes, or None when absent. Raise StorageUnavailable on backend failure."""
        ...

    async def put(self, hash: str, data: bytes, kind: ObjectKind = "module") -> None:
        """Store atomically (a reader never sees a partial object). An existing hash is a no-op."""
        ...

    async def exists(self, hash: str, kind: ObjectKind = "module") -> bool: ...

    async def delete(self, hash: str, kind: ObjectKind = "module") -> None:
        """Remove a (corrupt) copy so it can be rewritten."""
        ...

    async def check(self) -> None:
        """Readiness probe: raise StorageUnavailable when not usable."""
        ...

    async def close(self) -> None: ...

    def describe(self) -> str:
        """For logs and /readyz: backend and location, never credentials."""
        ...
