"""Settings for the two deployment shapes, shared by every suite that runs the app in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import Settings

TOKEN = "test-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def embedded(tmp_path: Path, **over: object) -> Settings:
    """SQLite + a local artifact directory under tmp_path, with the test admin token."""
    values: dict[str, object] = {"database_url": f"sqlite:///{tmp_path}/proxy.sqlite3",
                                 "storage_url": f"file://{tmp_path}/artifacts",
                                 "admin_token": TOKEN, "compile_workers": 1}
    return Settings(**{**values, **over})  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", "postgres+s3"])
def backend_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Both deployment shapes: SQLite + files, and PostgreSQL + an S3 endpoint over HTTP."""
    if request.param == "sqlite":
        return embedded(tmp_path)
    pg: Settings = request.getfixturevalue("pg_settings")
    s3: Settings = request.getfixturevalue("s3_settings")
    return embedded(tmp_path, database_url=pg.database_url, storage_url=s3.storage_url,
                    s3_endpoint_url=s3.s3_endpoint_url)
