"""One `store` fixture over both backends: a local temp directory and S3 over HTTP (moto_server)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from config.settings import Settings
from proxy.storage import ArtifactStore, create_store


@dataclass
class Backend:
    """What a test needs to look behind the store: its settings and the raw names it holds."""

    kind: str
    settings: Settings
    list_names: Callable[[], list[str]]


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "local":
        directory = tmp_path / "artifacts"

        def list_local() -> list[str]:
            return sorted(p.name for p in directory.iterdir()) if directory.exists() else []

        return Backend("local", Settings(storage_url=directory.as_uri()), list_local)

    settings: Settings = request.getfixturevalue("s3_settings")
    client: Any = request.getfixturevalue("s3_client")
    bucket = settings.storage_url.removeprefix("s3://").split("/", 1)[0]

    def list_s3() -> list[str]:
        response = client.list_objects_v2(Bucket=bucket)
        return sorted(obj["Key"] for obj in response.get("Contents", []))

    return Backend("s3", settings, list_s3)


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[ArtifactStore]:
    s = create_store(backend.settings)
    try:
        yield s
    finally:
        await s.close()
