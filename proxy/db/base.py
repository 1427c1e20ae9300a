"""Scene metadata: the product's scene table plus our compilation columns, and feature flags."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class DatabaseUnavailable(Exception):
    """The database cannot be reached or timed out."""


@dataclass(frozen=True, slots=True)
class Scene:
    id: uuid.UUID
    tsx_code: str
    name: str | None
    project_id: uuid.UUID | None
    updated_at: datetime | None
    compiled_url: str | None
    compiled_hash: str | None  # the last GOOD artifact (kept when an edit fails to compile)
    compiled_at: datetime | None
    compilation_error: str | None  # error of the CURRENT code, None when it compiled


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

    async def get(self, scene_id: uuid.UUID) -> Scene | None: ...

    async def create(self, scene_id: uuid.UUID, tsx_code: str, name: str | None,
                     project_id: uuid.UUID | None) -> Scene:
        """Insert; raise KeyError if the id exists."""
        ...

    async def update_code(self, scene_id: uuid.UUID, tsx_code: str, name: str | None = None) -> Scene | None:
        """Replace the code (and name when given); compilation columns untouched. None if unknown id."""
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
        """Keyset page ordered by id (no OFFSET), for backfill."""
        ...

    async def list_project(self, project_id: uuid.UUID, limit: int) -> list[Scene]:
        """The scenes of one project ordered by id, at most `limit`."""
        ...

    async def count(self) -> int: ...

    async def get_flag(self, name: str) -> int | None:
        """Rollout percentage 0-100, or None when the flag was never set."""
        ...

    async def set_flag(self, name: str, rollout_percentage: int) -> None: ...

    async def ping(self) -> None:
        """Readiness probe: raise DatabaseUnavailable when not usable."""
        ...

    async def close(self) -> None: ...
