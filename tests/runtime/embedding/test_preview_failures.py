"""How /preview/{id} on the real server behaves when a scene is broken: compile errors with their
location, render-time crashes, a broken edit that keeps the last good version playing, and Retry."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fixtures_browser_server import ProxyClient
from tests.runtime.embedding.conftest import SCENES_DIR, scene_text, wait_ready

pytestmark = pytest.mark.browser

BROKEN = json.loads((SCENES_DIR / "errors" / "manifest.json").read_text(encoding="utf-8"))

GOOD = """import { AbsoluteFill, useCurrentFrame } from 'remotion';

export default function Scene() {
  const frame = useCurrentFrame();
  return (
    <AbsoluteFill style={{ background: '#1e3a8a', justifyContent: 'center', alignItems: 'center' }}>
      <h1 style={{ color: 'white', fontSize: 120 }}>%s at frame {frame}</h1>
    </AbsoluteFill>
  );
}
"""

THROWS_AT_RENDER = """import { useCurrentFrame } from 'remotion';

export default function Scene() {
  const frame = useCurrentFrame();
  if (frame >= 0) {
    throw new Error('scene exploded at frame ' + frame);
  }
  return <div>unreachable</div>;
}
"""


def panel(page: Any, part: str) -> str:
    return str(page.locator(f"[data-preview-error] [data-error-{part}]").inner_text(timeout=5_000))


def assert_page_not_empty(page: Any) -> None:
    assert page.evaluate("document.body.innerText").strip()
    box = page.locator("[data-preview-error]").bounding_box()
    assert box and box["width"] > 200 and box["height"] > 80


@pytest.mark.parametrize("case", BROKEN, ids=[c["file"] for c in BROKEN])
def test_scene_that_never_compiled_shows_error_panel_with_line_and_column(
        page: Any, proxy: ProxyClient, case: dict[str, Any]) -> None:
    meta = proxy.create_scene((SCENES_DIR / "errors" / case["file"]).read_text(encoding="utf-8"), case["file"])
    assert meta["status"] == "error"
    module = proxy.request("GET", f"/api/components/{meta['id']}")
    assert module.status == 200 and module.headers["cache-control"] == "no-store"

    page.goto(proxy.preview_url(meta["id"]))
    assert wait_ready(page) == "error"
    assert panel(page, "title") == "The scene failed to compile"
    assert case["message"] in panel(page, "message")
    assert panel(page, "line") == str(case["line"])
    assert panel(page, "column") == str(case["column"])
    assert page.get_by_role("button", name="Retry").is_visible()
    assert_page_not_empty(page)
    assert not page.errors.uncaught, page.errors.uncaught


def test_scene_that_throws_at_render_shows_boundary_panel(page: Any, proxy: ProxyClient) -> None:
    meta = proxy.create_scene(THROWS_AT_RENDER, "throws")
    assert meta["status"] == "ready"
    page.goto(proxy.preview_url(meta["id"], frame=7))
    assert wait_ready(page) == "error"
    assert panel(page, "title") == "The scene crashed while rendering"
    assert "scene exploded at frame 7" in panel(page, "message")
    assert page.locator(".__remotion-player").count() == 0
    assert_page_not_empty(page)
    assert not page.errors.uncaught, page.errors.uncaught


def test_broken_edit_keeps_last_good_version_playing_on_preview(page: Any, proxy: ProxyClient) -> None:
    good = proxy.create_scene(GOOD % "First cut", "edited")
    assert good["status"] == "ready"
    broken = proxy.update_scene(good["id"], (GOOD % "Second cut").replace("</h1>", "</h2>"))
    assert broken["status"] == "error"
    assert broken["compilationError"]

    redirect = proxy.request("GET", f"/api/components/{good['id']}")
    assert redirect.status == 302
    assert redirect.headers["location"].endswith(f"/components/{good['compiledHash']}.js")
    assert redirect.headers.get("x-compilation-error"), redirect.headers

    page.goto(proxy.preview_url(good["id"], frame=20))
    assert wait_ready(page) == "still"
    assert scene_text(page) == "First cut at frame 20"
    assert page.locator("[data-preview-error]").count() == 0
    assert not page.errors.uncaught, page.errors.uncaught
    assert not page.errors.console_errors, page.errors.console_errors


@pytest.mark.parametrize("outage", ["503", "connection refused"])
def test_retry_reimports_scene_with_a_fresh_url_after_a_failed_load(
        page: Any, proxy: ProxyClient, outage: str) -> None:
    meta = proxy.create_scene(GOOD % "Back again", f"retry {outage}")
    component_url = proxy.component_url(meta["id"])
    requested: list[str] = []

    def flaky(route: Any) -> None:
        requested.append(route.request.url)
        if len(requested) > 1:
            route.continue_()
        elif outage == "503":
            route.fulfill(status=503, headers={"Access-Control-Allow-Origin": "*", "Retry-After": "1"},
                          content_type="application/json", body='{"error":"dependency_unavailable"}')
        else:
            route.abort("connectionrefused")

    page.route(f"{component_url}**", flaky)
    page.goto(proxy.preview_url(meta["id"], frame=3))
    assert wait_ready(page) == "error"
    assert panel(page, "title") == "The scene could not be loaded"
    assert requested == [component_url]

    page.get_by_role("button", name="Retry").click()
    page.wait_for_function("document.body.dataset.state === 'still'", timeout=15_000)
    assert scene_text(page) == "Back again at frame 3"
    assert len(requested) == 2
    assert requested[1] != component_url and requested[1].startswith(component_url + "?retry=")
    assert not page.errors.uncaught, page.errors.uncaught


def test_retry_after_fixing_the_scene_shows_the_fixed_version(page: Any, proxy: ProxyClient) -> None:
    # The first import *succeeds* with the error module, and a browser keeps an imported module for
    # the page's lifetime: only a new URL can bring the fixed scene in.
    meta = proxy.create_scene((GOOD % "Fixed").replace("</h1>", "</h2>"), "fixed later")
    assert meta["status"] == "error"
    page.goto(proxy.preview_url(meta["id"], frame=5))
    assert wait_ready(page) == "error"
    assert panel(page, "title") == "The scene failed to compile"

    assert proxy.update_scene(meta["id"], GOOD % "Fixed")["status"] == "ready"
    page.get_by_role("button", name="Retry").click()
    page.wait_for_function("document.body.dataset.state === 'still'", timeout=15_000)
    assert scene_text(page) == "Fixed at frame 5"
    assert page.locator("[data-preview-error]").count() == 0
