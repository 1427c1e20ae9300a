"""An in-process server (aiohttp test client) on either deployment shape, with real backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from config import Settings
from proxy.app import create_app
from tests.fixtures_backends import embedded

GOOD = """import { AbsoluteFill, useCurrentFrame } from 'remotion';
type P = { title?: string };
export default function Hello({ title = 'hello bar' }: P) {
  const f = useCurrentFrame();
  return <AbsoluteFill><h1 style={{ opacity: f / 30 }}>{title}</h1></AbsoluteFill>;
}
"""
GOOD2 = GOOD.replace("hello bar", "hello again")
BROKEN = "export default function X() { return <div>; }\n"


@pytest.fixture
async def client(aiohttp_client, backend_settings: Settings) -> AsyncIterator[TestClient]:  # type: ignore[no-untyped-def]
    yield await aiohttp_client(create_app(backend_settings))


@pytest.fixture
async def embedded_client(aiohttp_client, tmp_path: Path) -> AsyncIterator[TestClient]:  # type: ignore[no-untyped-def]
    yield await aiohttp_client(create_app(embedded(tmp_path)))
