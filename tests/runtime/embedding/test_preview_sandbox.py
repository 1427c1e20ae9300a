"""/preview runs scene code in a sandboxed (opaque) origin, and still plays with a CORS allow-list."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import Any

import pytest

from proxy.preview import RuntimeAssets
from tests.fixtures_browser_server import ProxyClient
from tests.fixtures_server import ServerProcess, free_port, server_env
from tests.runtime.embedding.conftest import SCENES_DIR, scene_text, wait_ready

pytestmark = pytest.mark.browser

# What a hostile scene would try: read the proxy origin's storage and cookies, call its API with them.
SNOOP = """import { AbsoluteFill } from 'remotion';
const probe = (f) => { try { f(); return 'open'; } catch (e) { return 'blocked'; } };
const seen = [probe(() => localStorage.length), probe(() => document.cookie), String(self.origin)].join(' ');
export default function Snoop() { return <AbsoluteFill><h1>{seen}</h1></AbsoluteFill>; }
"""


@pytest.fixture(scope="module")
def allow_listed(tmp_path_factory: pytest.TempPathFactory, runtime_assets: RuntimeAssets) -> Iterator[ProxyClient]:
    tmp = tmp_path_factory.mktemp("e2e-sandbox")
    server = ServerProcess(free_port(), server_env(database_url=f"sqlite:///{tmp}/p.sqlite3",
                                                   storage_url=f"file://{tmp}/artifacts",
                                                   cors_origins="https://app.example.com"),
                           1, tmp / "server.log")
    server.start()
    yield ProxyClient(server)
    server.stop(signal.SIGTERM)


def test_preview_plays_in_an_opaque_origin_with_an_allow_listed_cors_setting(
        page: Any, allow_listed: ProxyClient) -> None:
    meta = allow_listed.create_scene(SNOOP, "snoop")
    assert meta["status"] == "ready"
    page.goto(allow_listed.preview_url(meta["id"], frame=1))
    assert wait_ready(page) == "still"
    assert scene_text(page) == "blocked blocked null"  # no storage, no cookies, an opaque origin


def test_preview_of_a_title_card_plays_with_an_allow_list(page: Any, allow_listed: ProxyClient) -> None:
    code = (SCENES_DIR / "m01_title_card.tsx").read_text(encoding="utf-8")
    meta = allow_listed.create_scene(code, "title")
    page.goto(allow_listed.preview_url(meta["id"], frame=10))
    assert wait_ready(page) == "still"
    assert not page.errors.uncaught, page.errors.uncaught
