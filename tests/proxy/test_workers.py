"""Several workers on one port (the default `serve`): an edit through any worker is seen by all."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from tests.fixtures_server import TOKEN

SCENE = "import {{ AbsoluteFill }} from 'remotion';\nexport default () => <AbsoluteFill>{text}</AbsoluteFill>;\n"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


OPENER = urllib.request.build_opener(NoRedirect, urllib.request.ProxyHandler({}))


def call(method: str, url: str, body: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    try:
        with OPENER.open(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_an_edit_through_one_worker_is_seen_by_every_worker_at_once(spawn_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # no Redis: the workers share only the machine (the invalidation board)
    server = spawn_server(workers=2, database_url=f"sqlite:///{tmp_path}/p.sqlite3",
                          storage_url=f"file://{tmp_path}/artifacts")
    status, _, body = call("POST", f"{server.base}/api/scenes", {"tsxCode": SCENE.format(text="v0")})
    scene_id = json.loads(body)["id"]
    for version in range(1, 6):
        # new connections each time, so the kernel spreads them over both workers and both cache it
        for _ in range(8):
            call("GET", f"{server.base}/api/components/{scene_id}")
        edit = {"tsxCode": SCENE.format(text=f"v{version}")}
        status, _, body = call("PUT", f"{server.base}/api/scenes/{scene_id}", edit)
        new_hash = json.loads(body)["compiledHash"]
        for _ in range(8):
            status, headers, _ = call("GET", f"{server.base}/api/components/{scene_id}")
            assert status == 302 and headers["Location"].endswith(f"/{new_hash}.js"), (version, headers["Location"])


def test_a_project_module_follows_every_edit_and_new_scene_through_any_worker(spawn_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # each worker keeps the project's module in L1; a write through the other must void it at once
    server = spawn_server(workers=2, database_url=f"sqlite:///{tmp_path}/p.sqlite3",
                          storage_url=f"file://{tmp_path}/artifacts")
    project = "6d3f3c1e-3f0b-4f6e-9a43-0c5b1b8f2a10"
    status, _, body = call("POST", f"{server.base}/api/scenes", {"tsxCode": SCENE.format(text="p0"),
                                                                 "projectId": project})
    scene_id = json.loads(body)["id"]
    module = f"{server.base}/api/projects/{project}/components"
    for version in range(1, 5):
        for _ in range(8):
            assert call("GET", module)[0] == 200
        if version % 2:  # alternately edit the scene and add one to the project
            status, _, body = call("PUT", f"{server.base}/api/scenes/{scene_id}",
                                   {"tsxCode": SCENE.format(text=f"p{version}")})
        else:
            status, _, body = call("POST", f"{server.base}/api/scenes", {"tsxCode": SCENE.format(text=f"n{version}"),
                                                                         "projectId": project})
        assert status in (200, 201) and json.loads(body)["status"] == "ready"
        for _ in range(8):
            status, headers, body = call("GET", module)
            assert status == 200 and f"p{version if version % 2 else version - 1}".encode() in body, version
            assert headers["X-Scene-Count"] == str(1 + version // 2), (version, headers["X-Scene-Count"])
