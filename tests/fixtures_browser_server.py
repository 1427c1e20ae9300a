"""The real server the browser suites share (tests/e2e, tests/client): one `artifact-proxy serve`
process on SQLite and file storage, with the host runtime and the scene client built before it
starts, and a small HTTP client for it. One server for the whole session: every test creates scenes
under fresh ids, so tests stay independent, and no test changes the server itself (suites that need
other settings start their own with tests/fixtures_server.py)."""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from proxy.preview import RuntimeAssets, default_client_dir
from proxy.preview.runtime import SCENE_CLIENT
from tests.fixtures_server import TOKEN, ServerProcess, free_port, server_env
from tests.paths import ROOT

CLIENT_DIR = ROOT / "client"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class ProxyClient:
    """Plain HTTP against the server (no redirect following, so 302s can be inspected)."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.base = server.base

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
                admin: bool = False) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        try:
            sent = dict(headers or {})
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                sent["Content-Type"] = "application/json"
            if admin:
                sent["Authorization"] = f"Bearer {TOKEN}"
            conn.request(method, path, body=data, headers=sent)
            r = conn.getresponse()
            return Answer(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            conn.close()

    def create_scene(self, tsx_code: str, name: str | None = None, project_id: str | None = None,
                     duration: int | None = None) -> dict[str, Any]:
        """POST /api/scenes; returns the metadata (status may be "error": the code is saved anyway)."""
        body = {"tsxCode": tsx_code, "name": name, **({"projectId": project_id} if project_id else {}),
                **({"duration": duration} if duration else {})}
        answer = self.request("POST", "/api/scenes", body, admin=True)
        assert answer.status == 201, answer.body
        return answer.json()

    def update_scene(self, scene_id: str, tsx_code: str) -> dict[str, Any]:
        answer = self.request("PUT", f"/api/scenes/{scene_id}", {"tsxCode": tsx_code}, admin=True)
        assert answer.status == 200, answer.body
        return answer.json()

    def preview_url(self, scene_id: str, frame: int | None = None) -> str:
        return f"{self.base}/preview/{scene_id}" + ("" if frame is None else f"?frame={frame}")

    def component_url(self, scene_id: str) -> str:
        return f"{self.base}/api/components/{scene_id}"

    def project_url(self, project_id: str) -> str:
        return f"{self.base}/api/projects/{project_id}/components"


def build_scene_client(out_dir: Path | None = None) -> RuntimeAssets:
    """Build the client if its sources changed since the last build, then load it."""
    target = out_dir or default_client_dir()
    manifest = target / "manifest.json"
    sources = [CLIENT_DIR / "build.mjs", *(CLIENT_DIR / "src").rglob("*.js")]
    if not manifest.exists() or any(p.stat().st_mtime > manifest.stat().st_mtime for p in sources):
        subprocess.run(["node", str(CLIENT_DIR / "build.mjs"), str(target)], cwd=ROOT, check=True,
                       capture_output=True, timeout=60)
    return RuntimeAssets.load(target, SCENE_CLIENT)


@pytest.fixture(scope="session")
def scene_client_assets() -> RuntimeAssets:
    return build_scene_client()


@pytest.fixture(scope="session")
def proxy_server(tmp_path_factory: pytest.TempPathFactory, runtime_assets: RuntimeAssets,
                 scene_client_assets: RuntimeAssets) -> Iterator[ServerProcess]:
    """Started after the runtime and the scene client are built: it serves both."""
    tmp = tmp_path_factory.mktemp("browser-proxy")
    server = ServerProcess(free_port(), server_env(database_url=f"sqlite:///{tmp}/p.sqlite3",
                                                   storage_url=f"file://{tmp}/artifacts", cors_origins="*"),
                           1, tmp / "server.log")
    server.start()
    yield server
    server.stop(signal.SIGTERM)


@pytest.fixture(scope="session")
def proxy(proxy_server: ServerProcess) -> ProxyClient:
    return ProxyClient(proxy_server)
