"""Scene client fixtures: host-app pages on another origin that load the host runtime and the client
from the real server the browser suites share (`proxy`, tests/fixtures_browser_server.py) the way a
product view would."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_browser import PageErrors, StaticServer
from tests.fixtures_browser_server import ProxyClient

REPO_ROOT = Path(__file__).resolve().parents[2]
CLIENT_DIR = REPO_ROOT / "client"


def build_test_host(react: str, out_file: Path) -> bytes:
    """A host app bundling the real React `react` (18 or 19), ReactDOM, Remotion and Remotion
    Player from client/'s dev dependencies, published with installHostGlobals."""
    subprocess.run(["node", str(CLIENT_DIR / "test" / "host" / "build.mjs"), react, str(out_file)],
                   cwd=REPO_ROOT, check=True, capture_output=True, timeout=120)
    return out_file.read_bytes()


# Where a view's globals come from: the proxy's host runtime, or an app's own bundle on React 18 / 19.
HOSTS = ["runtime", "react18", "react19"]


@pytest.fixture(scope="package")
def host_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StaticServer]:
    site = StaticServer()
    site.add("/favicon.ico", b"", "image/x-icon")
    out = tmp_path_factory.mktemp("client-hosts")
    for react in ("18", "19"):
        site.add_js(f"/host-react{react}.js", build_test_host(react, out / f"host-react{react}.js"))
    yield site
    site.close()


@pytest.fixture(scope="package")
def client_context(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context
    context.close()


@pytest.fixture
def page(client_context: Any) -> Iterator[Any]:
    pg = client_context.new_page()
    PageErrors.watch(pg)
    yield pg
    pg.close()


# A product view: its globals (React, ReactDOM, Remotion, RemotionPlayer) from the proxy's host runtime
# or from the app's own bundle, the scene client by its stable name on the proxy, then the view's own
# script with `SC` (the client module), `client`, `h` (React.createElement) and `root` in scope.
HOST_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>scene client view</title>
<style>body{margin:0;background:#111;color:#eee;font:14px sans-serif}
.slot{position:relative;width:300px;display:inline-block;margin:2px;vertical-align:top}</style>
<script crossorigin="anonymous" src="__HOST__"></script>
</head><body><div id="root"></div>
<script type="module">
import * as SC from '__PROXY__/runtime/scene-client.js';
const h = React.createElement;
const client = SC.createSceneClient(Object.assign({ baseUrl: '__PROXY__' }, __OPTIONS__));
window.SC = SC;
window.client = client;
const root = ReactDOM.createRoot(document.getElementById('root'));
__SCRIPT__
</script>
</body></html>
"""

ViewPage = Callable[..., str]


@pytest.fixture
def view_page(host_site: StaticServer, proxy: ProxyClient) -> ViewPage:
    """view_page(path, script, host="runtime", **client_options) -> the URL of a host page running
    `script` with the globals of `host` (one of HOSTS)."""

    def make(path: str, script: str, host: str = "runtime", **options: Any) -> str:
        src = f"{proxy.base}/runtime/host-runtime.js" if host == "runtime" else host_site.url(f"/host-{host}.js")
        html = (HOST_PAGE.replace("__HOST__", src).replace("__PROXY__", proxy.base)
                .replace("__OPTIONS__", json.dumps(options)).replace("__SCRIPT__", script))
        return host_site.add_html(f"/{host}{path}", html)

    return make


def visible_text(page: Any, selector: str) -> str:
    """innerText of everything `selector` matches (only rendered, visible text counts)."""
    return str(page.evaluate(
        "(sel) => Array.from(document.querySelectorAll(sel)).map((e) => e.innerText).join('\\n')", selector)).strip()
