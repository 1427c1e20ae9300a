"""End-to-end fixtures: cross-origin "host app" pages that import scenes from the real server the
browser suites share (`proxy`, tests/fixtures_browser_server.py) the way an embedding product would."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from proxy.preview import RuntimeAssets
from tests.fixtures_browser import PageErrors, StaticServer, wait_ready
from tests.fixtures_browser_server import ProxyClient
from tests.paths import SCENES

SCENES_DIR = SCENES
GOOD_SCENES = sorted(SCENES_DIR.glob("*.tsx"))


@pytest.fixture(scope="package")
def host_site() -> Iterator[StaticServer]:
    """A static "host app" on its own port: a different origin from the proxy."""
    site = StaticServer()
    site.add("/favicon.ico", b"", "image/x-icon")  # so Chromium's favicon fetch is no console error
    yield site
    site.close()


# --- the browser ------------------------------------------------------------------------------------

@pytest.fixture(scope="package")
def e2e_context(browser: Any) -> Iterator[Any]:
    """One browser context for the package: its HTTP cache keeps the 1.5 MB immutable runtime
    script after the first page, which is what makes dozens of page loads cheap. (No request
    routing here: Playwright turns the HTTP cache off wherever it routes.)"""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    yield context
    context.close()


@pytest.fixture
def page(e2e_context: Any) -> Iterator[Any]:
    """A fresh page (in the shared context) with `page.errors` collecting uncaught errors and
    console errors; overrides the browser plugin's per-test-context `page`."""
    pg = e2e_context.new_page()
    PageErrors.watch(pg, with_location=True)
    yield pg
    pg.close()


# --- cross-origin host pages -------------------------------------------------------------------------

# The host page of an embedding app: the runtime script from the proxy provides the globals, then
# each scene is the Player's `lazyComponent: () => import(url)`, played by the runtime's Player.
# A scene with `pick` comes from a project module: the entry `pick` of its default map (one import
# of one URL however many slots pick from it: the page's module map fetches and evaluates it once).
HOST_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>host app</title>
<style>
body{margin:0;background:#111;color:#eee;font:14px sans-serif}
.slot{position:relative;width:480px;height:270px;display:inline-block;margin:4px}
</style>
<script %(crossorigin)s src="%(runtime)s"></script>
</head><body><div id="root"></div>
<script type="module">
const scenes = %(scenes)s;  // [{id, url, frame, pick}]
const h = React.createElement;
class Boundary extends React.Component {
  constructor(p) { super(p); this.state = { error: null }; }
  static getDerivedStateFromError(error) { return { error }; }
  render() {
    return this.state.error
      ? h('p', { 'data-host-error': '' }, String(this.state.error && this.state.error.message))
      : this.props.children;
  }
}
function Slot({ scene }) {
  // Remotion's Player takes a lazy scene as `lazyComponent` (a stable function returning the import).
  const lazyComponent = React.useCallback(
    () => import(scene.url).then((m) => (scene.pick ? { default: m.default[scene.pick] } : m)),
  [scene.url, scene.pick]);
  return h('div', { className: 'slot', 'data-slot': scene.id },
    h(Boundary, null,
      h(React.Suspense, { fallback: h('p', { 'data-host-loading': '' }, 'Loading...') },
        h(RemotionPlayer.Player, {
          lazyComponent, durationInFrames: 150, compositionWidth: 1920, compositionHeight: 1080,
          fps: 30, initialFrame: scene.frame, style: { width: '100%%', height: '100%%' },
          errorFallback: ({ error }) => h('p', { 'data-host-error': '' }, String(error && error.message)),
        }))));
}
ReactDOM.createRoot(document.getElementById('root')).render(
  h(React.Fragment, null, scenes.map((s) => h(Slot, { key: s.id, scene: s }))));
</script>
</body></html>
"""


@dataclass(frozen=True)
class SceneRef:
    id: str
    url: str
    frame: int = 30
    pick: str | None = None  # the scene id to take from a project module's default map


HostPage = Callable[[str, list[SceneRef]], str]


@pytest.fixture
def host_page(host_site: StaticServer, proxy: ProxyClient, runtime_assets: RuntimeAssets) -> HostPage:
    """host_page(path, scenes) -> URL of a page on the host origin that embeds those scenes."""

    def make(path: str, scenes: list[SceneRef]) -> str:
        return host_site.add_html(path, host_html(proxy, runtime_assets, scenes))

    return make


def host_html(proxy: ProxyClient, runtime: RuntimeAssets, scenes: list[SceneRef], cors_runtime: bool = True) -> str:
    """The host page; `cors_runtime` loads the runtime script in CORS mode (so its errors are readable)."""
    return HOST_PAGE % {
        "crossorigin": 'crossorigin="anonymous"' if cors_runtime else "",
        "runtime": proxy.base + runtime.url_path,
        "scenes": json.dumps([{"id": s.id, "url": s.url, "frame": s.frame, "pick": s.pick} for s in scenes]),
    }


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def scene_text(page: Any, root: str = ".__remotion-player") -> str:
    """Visible text inside the composition (the Player's controls are outside it)."""
    return str(page.evaluate(
        "(sel) => Array.from(document.querySelectorAll(sel)).map((e) => e.innerText).join('\\n')", root)).strip()


__all__ = ["wait_ready"]  # re-exported: the preview page's own readiness signal
