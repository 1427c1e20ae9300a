"""Every scene of the compiler's fixture corpus, saved through the API, plays on /preview/{id} in
Chromium: no page error, no console error, and visible content inside the composition."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_browser import offline_network
from tests.fixtures_browser_server import ProxyClient
from tests.runtime.embedding.conftest import GOOD_SCENES, scene_text, wait_ready

pytestmark = pytest.mark.browser

FRAME = 30
SCREENSHOT = Path("/tmp/e2e-preview.png")
COLOURFUL = "m07_shapes"
# staticFile() assets the corpus refers to but no server hosts: their 404 is the scene's, not ours.
MISSING_ASSETS = {"g20_img_staticfile": "/products/aurora.png"}


@pytest.fixture(scope="module")
def corpus(proxy: ProxyClient) -> dict[str, dict[str, Any]]:
    """Scene file stem -> metadata, all created (and compiled on write) up front."""
    return {path.stem: proxy.create_scene(path.read_text(encoding="utf-8"), path.stem) for path in GOOD_SCENES}


@pytest.fixture(scope="module")
def shared_page(e2e_context: Any) -> Iterator[Any]:
    """One page reused for the whole corpus: navigation resets the document anyway. Google Fonts and
    the Iconify API are answered locally (as in tests/runtime), never from the internet."""
    pg = e2e_context.new_page()
    offline_network(pg, lambda: True)
    pg.errors = []
    pg.on("pageerror", lambda exc: pg.errors.append(f"pageerror: {exc}"))
    pg.on("console", lambda msg: pg.errors.append(f"console.error: {msg.text} @ {msg.location.get('url', '')}")
          if msg.type == "error" else None)
    yield pg
    pg.close()


@pytest.fixture
def preview_page(shared_page: Any) -> Any:
    shared_page.errors.clear()
    return shared_page


def test_corpus_has_at_least_twenty_scenes() -> None:
    assert len(GOOD_SCENES) >= 20


@pytest.mark.parametrize("scene", [p.stem for p in GOOD_SCENES])
def test_corpus_scene_plays_on_preview_with_visible_content(
        preview_page: Any, proxy: ProxyClient, corpus: dict[str, dict[str, Any]], scene: str) -> None:
    meta = corpus[scene]
    assert meta["status"] == "ready", meta["compilationError"]
    preview_page.goto(proxy.preview_url(meta["id"], FRAME))
    state = wait_ready(preview_page)
    problem = preview_page.locator("[data-preview-error]")
    assert state == "still", problem.inner_text() if problem.count() else state
    assert preview_page.locator("#root").get_attribute("data-frame") == str(FRAME)
    text = scene_text(preview_page)
    graphics = preview_page.locator(".__remotion-player :is(svg, canvas, img)").count()
    assert text or graphics, "the composition rendered nothing visible"
    box = preview_page.locator(".__remotion-player").bounding_box()
    assert box and box["width"] > 100 and box["height"] > 50
    missing = MISSING_ASSETS.get(scene)
    # Remotion's <Img> retries a missing file, then throws its own error: the scene's too.
    errors = [e for e in preview_page.errors
              if not (missing and "Failed to load resource" in e and e.endswith(proxy.base + missing))
              and not (missing and e.startswith("pageerror: Error loading image with src:") and e.endswith(missing))]
    assert errors == []


PALETTE_SCRIPT = """async (dataUrl) => {
    const img = new Image();
    img.src = dataUrl;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.width;
    canvas.height = img.height;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const { data } = ctx.getImageData(0, 0, img.width, img.height);
    const counts = {};
    for (let i = 0; i < data.length; i += 4) {
        const key = [data[i], data[i + 1], data[i + 2]].join(',');
        counts[key] = (counts[key] || 0) + 1;
    }
    return { pixels: data.length / 4, counts };
}"""


def share_near(counts: dict[str, int], pixels: int, rgb: tuple[int, int, int], tolerance: int = 10) -> float:
    """Fraction of the screenshot's pixels within `tolerance` of `rgb` on every channel."""
    near = 0
    for key, n in counts.items():
        r, g, b = (int(c) for c in key.split(","))
        if max(abs(r - rgb[0]), abs(g - rgb[1]), abs(b - rgb[2])) <= tolerance:
            near += n
    return near / pixels


def test_preview_screenshot_of_a_colourful_scene_shows_the_scene(
        page: Any, proxy: ProxyClient, corpus: dict[str, dict[str, Any]]) -> None:
    page.goto(proxy.preview_url(corpus[COLOURFUL]["id"], 45))
    assert wait_ready(page) == "still"
    assert "Shapes make it friendly" in scene_text(page)
    png = page.screenshot(path=str(SCREENSHOT))  # kept in /tmp for a human to look at
    page.goto("about:blank")
    palette = page.evaluate(PALETTE_SCRIPT, "data:image/png;base64," + base64.b64encode(png).decode())
    counts, pixels = palette["counts"], palette["pixels"]
    # The scene's own colours, not a blank or black box: cream background, orange circle, yellow star,
    # red triangle, purple square.
    assert share_near(counts, pixels, (0xFF, 0xF7, 0xED)) > 0.3  # background #fff7ed
    for name, rgb in {"orange": (0xFB, 0x92, 0x3C), "yellow": (0xFA, 0xCC, 0x15),
                      "red": (0xF4, 0x3F, 0x5E), "purple": (0x8B, 0x5C, 0xF6)}.items():
        assert share_near(counts, pixels, rgb) > 0.003, f"no {name} shape in the screenshot"
