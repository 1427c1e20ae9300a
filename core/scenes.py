"""Scene metadata: the product's scene table plus our compilation columns, and feature flags."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class DatabaseUnavailable(Exception):
    """The database cannot be reached or timed out."""


class SchemaMismatch(DatabaseUnavailable):
    """The configured scene table lacks columns the proxy reads: start-up stops with one line."""


@dataclass(frozen=True, slots=True)
class Scene:
    """A live (not soft-deleted) row of the product's scene table, in the proxy's own names."""

    id: uuid.UUID
    tsx_code: str
    name: str | None
    project_id: uuid.UUID | None
    updated_at: datetime | None  # the product's "updatedAt", else "createdAt": the version of the row
    compiled_url: str | None
    compiled_hash: str | None  # the last GOOD artifact (kept when an edit fails to compile)
    compiled_at: datetime | None
    compilation_error: str | None  # error of the CURRENT code, None when it compiled
    order: int = 0  # position in its project
    duration: int | None = None  # frames
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SceneHead:
    """A scene row without its source: what a project miss reads. `code_hash` is the artifact hash
    the current source compiles to (`source_hash(fingerprint, tsx_code)`), computed by the database,
    so staleness is decided by comparing it with `compiled_hash` and the source never leaves it."""

    id: uuid.UUID
    code_hash: str
    name: str | None
    project_id: uuid.UUID | None
    updated_at: datetime | None
    compiled_url: str | None
    compiled_hash: str | None
    compilation_error: str | None
    order: int = 0
    duration: int | None = None


def source_hash(fingerprint: str, source: str) -> str:
    """The artifact hash of `source` under a compiler `fingerprint`: 16 hex of SHA-256 over
    fingerprint, a newline and the UTF-8 source. The databases compute the same expression
    (proxy/db/schema.py), so the definition lives here, below both the compiler and the repositories."""
    data = fingerprint.encode() + b"\n" + source.encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class SceneChange:
    """A scene row that changed: what the caches must drop (its mapping, and its projects' modules)."""

    scene_id: uuid.UUID
    project_ids: tuple[uuid.UUID, ...] = ()
    # set when the database says the write came through a proxy's API: that node compiles it and
    # purges the edge for it, so a listener only drops what it cached (one purge per write)
    writer: str | None = None


@dataclass(frozen=True, slots=True)
class Compilation:
    """The outcome of compiling one version of a scene's code."""

    hash: str | None  # None when the compile failed (the last good hash is then kept)
    url: str | None
    error: str | None


class SceneRepository(Protocol):
    async def migrate(self) -> None:
        """Create the table, or add only the missing compilation columns + index. Idempotent."""
        ...

    async def get(self, scene_id: uuid.UUID) -> Scene | None:
        """The live scene; None for an unknown or soft-deleted id."""
        ...

    async def create(self, scene_id: uuid.UUID, tsx_code: str, name: str | None,
                     project_id: uuid.UUID, duration: int | None = None) -> Scene:
        """Insert at the end of its project (name and duration: the table's defaults when None);
        raise KeyError if the id exists."""
        ...

    async def update_code(self, scene_id: uuid.UUID, tsx_code: str, name: str | None = None) -> Scene | None:
        """Replace the code (and name when given), bump revision and updatedAt, and clear
        compilation_error in the same UPDATE (it described the old code: an edit clears it); the last
        good compiled_hash/url/at stay. None if the id is unknown or soft-deleted."""
        ...

    async def record_compilation(self, scene_id: uuid.UUID, compiled_code: str, result: Compilation) -> bool:
        """Compare-and-set: apply only if the scene's tsx_code is still `compiled_code`.

        Success sets compiled_hash/url/at and clears compilation_error; failure sets compilation_error
        and keeps the last good hash/url. Returns False when the code changed meanwhile.
        """
        ...

    async def find_code_by_hash(self, compiled_hash: str) -> str | None:
        """The code of any scene whose current artifact is `compiled_hash` (to rebuild a lost object)."""
        ...

    async def list_after(self, after: uuid.UUID | None, limit: int) -> list[Scene]:
        """Keyset page of live scenes ordered by id (no OFFSET), for backfill."""
        ...

    async def list_project(self, project_id: uuid.UUID, limit: int) -> list[Scene]:
        """The live scenes of one project in the product's order ("order", then "createdAt")."""
        ...

    async def project_heads(self, project_id: uuid.UUID, limit: int, fingerprint: str) -> list[SceneHead]:
        """Like list_project without the sources: each row's `code_hash` is computed by the database
        (`source_hash(fingerprint, code)`), so a project miss reads ids and hashes, not code."""
        ...

    async def count(self) -> int:
        """Live scenes."""
        ...

    async def count_project(self, project_id: uuid.UUID) -> int:
        """Live scenes of one project (answered from the project index, before any source is read)."""
        ...

    async def project_of(self, scene_id: uuid.UUID) -> uuid.UUID | None:
        """The project of a scene row, soft-deleted or not (to invalidate after a deletion)."""
        ...

    async def changed_since(self, since: datetime) -> list[SceneChange]:
        """Rows written or soft-deleted after `since` (what a listener may have missed while away)."""
        ...

    async def get_flag(self, name: str) -> int | None:
        """Rollout percentage 0-100, or None when the flag was never set."""
        ...

    async def set_flag(self, name: str, rollout_percentage: int) -> None: ...

    async def ping(self) -> None:
        """Readiness probe: raise DatabaseUnavailable when not usable."""
        ...

    async def close(self) -> None: ...
