"""Scene metadata store: `create_repository(settings)` picks the backend from the URL scheme."""

from __future__ import annotations

from urllib.parse import urlsplit

from config.settings import Settings
from core.scenes import Compilation, DatabaseUnavailable, Scene, SceneChange, SceneRepository, SchemaMismatch
from proxy.db.schema import validate_table_name

__all__ = [
    "Compilation",
    "DatabaseUnavailable",
    "Scene",
    "SceneChange",
    "SceneRepository",
    "SchemaMismatch",
    "create_repository",
    "validate_table_name",
]


def create_repository(settings: Settings) -> SceneRepository:
    """A repository for `settings.database_url`; nothing connects until the first call.

    `sqlite:///./rel/path`, `sqlite:////abs/path` -> SqliteSceneRepository;
    `postgresql://...`, `postgres://...` -> PostgresSceneRepository.
    Raises ValueError for an unknown scheme or an unsafe `scene_table`.
    """
    scheme = urlsplit(settings.database_url).scheme
    if scheme == "sqlite":
        from proxy.db.sqlite import SqliteSceneRepository

        return SqliteSceneRepository(settings)
    if scheme in ("postgresql", "postgres"):
        from proxy.db.postgres import PostgresSceneRepository

        return PostgresSceneRepository(settings)
    raise ValueError(f"unknown database URL scheme {scheme!r}: use sqlite:///path or postgresql://...")
