"""How the service fails, in one place. The edge (proxy/edge.py) maps them to HTTP answers."""

from __future__ import annotations

from core.compiler import CompileError
from core.scenes import DatabaseUnavailable
from core.storage import StorageUnavailable


class SceneNotFound(Exception):
    """No scene with that id (404)."""


class ProjectNotFound(Exception):
    """No scene belongs to that project id (404)."""


class ProjectTooLarge(Exception):
    """More scenes than one bundle may hold (422): the client imports them one by one."""


class SceneExists(Exception):
    """Create with an id that is taken (409)."""


class InvalidScene(Exception):
    """The table refuses the scene (e.g. its projectId is not in the product's project table): 422."""


class Overloaded(Exception):
    """Too many compiles in flight for this client or overall (429 + Retry-After)."""

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# A dependency is down: 503 + Retry-After, never a hang and never a 500.
UNAVAILABLE = (DatabaseUnavailable, StorageUnavailable)

__all__ = ["UNAVAILABLE", "CompileError", "DatabaseUnavailable", "InvalidScene", "Overloaded", "ProjectNotFound",
           "ProjectTooLarge", "SceneExists", "SceneNotFound", "StorageUnavailable"]
