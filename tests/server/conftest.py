"""An in-process server (aiohttp test client) on either deployment shape, with real backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from config import Settings
from proxy.app import create_app

TOKEN = "test-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

GOOD = """import { AbsoluteFill, useCurrentFrame } from 'remotion';
type P = { title?: string };
export default function Hello({ title = 'hello bar' }: P) {
  const f = useCurrentFrame();
  return <AbsoluteFill><h1 style={{ opacity: f / 30 }}>{title}</h1></AbsoluteFill>;
}
"""
GOOD2 = GOOD.replace("hello bar", "hello again")
BROKEN = "export default function X() { return <div>; }\n"


def embedded(tmp_path: Path, **over: object) -> Settings:
    values: dict[str, object] = {"database_url": f"sqlite:///{tmp_path}/proxy.sqlite3",
                                 "storage_url": f"file://{tmp_path}/artifacts",
                                 "admin_token": TOKEN, "compile_workers": 1}
    return Settings(**{**values, **over})  # type: ignore[arg-type]


@pytest.fixture(params=["embedded", "production"])
def backend_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Both deployment shapes: SQLite + files, and PostgreSQL + an S3 endpoint over HTTP."""
    if request.param == "embedded":
        return embedded(tmp_path)
    pg: Settings = request.getfixturevalue("pg_settings")
    s3: Settings = request.getfixturevalue("s3_settings")
    return embedded(tmp_path, database_url=pg.database_url, storage_url=s3.storage_url,
                    s3_endpoint_url=s3.s3_endpoint_url)


@pytest.fixture
async def client(aiohttp_client, backend_settings: Settings) -> AsyncIterator[TestClient]:  # type: ignore[no-untyped-def]
    yield await aiohttp_client(create_app(backend_settings))


@pytest.fixture
async def embedded_client(aiohttp_client, tmp_path: Path) -> AsyncIterator[TestClient]:  # type: ignore[no-untyped-def]
    yield await aiohttp_client(create_app(embedded(tmp_path)))
