"""Golden checks: every fixture scene at frames 0, 30 and 90 looks the same through /preview (the
compiler's module, the host runtime bundle, the preview shell) as on a plain page that plays the
scene's source with the same npm packages directly (tests/runtime/reference.mjs).

One page load per scene and side (fonts a scene loads stay in its page only); frames 30 and 90 are
mounted in the same page, as /preview?frame=N would mount them."""

from __future__ import annotations

import asyncio
import base64
import re
import struct
import subprocess
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from core.compiler import CompiledModule
from proxy.preview import RuntimeAssets
from tests.fixtures_browser import REPO_ROOT, PreviewSite, StaticServer, offline_network, wait_ready
from tests.proxy.compiler.conftest import compile_all, good_scenes

pytestmark = pytest.mark.browser

FRAMES = (0, 30, 90)
READY_MS = 30_000  # generous: CI's two cores are shared
VIEWPORT = {"width": 480, "height": 270}
# A pixel differs when a channel moves by more than this; a frame may differ in this share of pixels.
CHANNEL_TOLERANCE = 24
PIXEL_TOLERANCE = 0.005
SCENES = good_scenes()
FAILURES = REPO_ROOT / "build" / "golden-failures"
SCENES_DIR = REPO_ROOT / "tests" / "fixtures" / "scenes"
NETWORK_RE = re.compile(r"google-fonts|RemotionGoogleFonts|iconify|IconifyIcon")
# The Player's controls (a sibling of the box holding the composition) fade on their own clock.
HIDE_CONTROLS = "div:has(> .__remotion-player) ~ * { visibility: hidden !important; }"

REMOUNT = """([componentUrl, frame]) => {
    const old = document.getElementById('root');
    const fresh = old.cloneNode(false);
    old.replaceWith(fresh);
    delete document.body.dataset.ready;
    ArtifactProxyPreview.mount(fresh, { componentUrl, frame });
}"""
DIFF_SCRIPT = """async ([a, b, tolerance]) => {
    const load = async (src) => { const img = new Image(); img.src = src; await img.decode(); return img; };
    const [x, y] = await Promise.all([load(a), load(b)]);
    if (x.width !== y.width || x.height !== y.height) return 1;
    const pixels = (img) => {
        const c = document.createElement('canvas');
        c.width = img.width; c.height = img.height;
        const ctx = c.getContext('2d');
        ctx.drawImage(img, 0, 0);
        return ctx.getImageData(0, 0, img.width, img.height).data;
    };
    const [p, q] = [pixels(x), pixels(y)];
    let differ = 0;
    for (let i = 0; i < p.length; i += 4) {
        if (Math.abs(p[i] - q[i]) > tolerance || Math.abs(p[i + 1] - q[i + 1]) > tolerance
            || Math.abs(p[i + 2] - q[i + 2]) > tolerance) differ++;
    }
    return differ / (p.length / 4);
}"""


@pytest.fixture(scope="module")
def compiled() -> dict[str, CompiledModule]:
    # The sync Playwright API keeps an event loop in this thread; the pool gets its own.
    with ThreadPoolExecutor(1) as ex:
        return ex.submit(asyncio.run, compile_all(SCENES)).result()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StaticServer]:
    """A site with /<scene>: a page that plays that scene from the reference bundle."""
    out = tmp_path_factory.mktemp("golden")
    subprocess.run(["node", str(REPO_ROOT / "tests" / "runtime" / "reference.mjs"), str(out), *map(str, SCENES)],
                   cwd=REPO_ROOT, check=True, capture_output=True, timeout=180)
    site = StaticServer()
    for path, body in STATIC_FILES.items():
        site.add(path, body, "image/png")
    for js in out.glob("*.js"):
        site.add_js(f"/{js.name}", js.read_bytes(), immutable=True)
    for scene in SCENES:
        site.add_html(f"/{scene.stem}", '<!doctype html><html><head><meta charset="utf-8"><style>'
                      "html,body{margin:0;width:100%;height:100%;background:#000;overflow:hidden}"
                      '#root{position:fixed;inset:0}</style></head><body><div id="root"></div>'
                      f'<script type="module" src="/{scene.stem}.js"></script></body></html>')
    yield site
    site.close()


@pytest.fixture(scope="module")
def golden_site(runtime_assets: RuntimeAssets, compiled: dict[str, CompiledModule]) -> Iterator[PreviewSite]:
    pages, modules = StaticServer(), StaticServer()
    site = PreviewSite(pages, modules, runtime_assets)
    for path, body in STATIC_FILES.items():
        pages.add(path, body, "image/png")
    for name, module in compiled.items():
        site.add_module(name, module.code)
    yield site
    pages.close()
    modules.close()


@pytest.fixture(scope="module")
def golden_contexts(browser: object) -> Iterator[dict[bool, tuple[object, object]]]:
    """Pages at a small viewport (cheap screenshots), /preview and the reference, in two contexts:
    one answering Google Fonts and the Iconify API locally for the scenes that use them, one without
    request routing (Playwright turns the HTTP cache off where it routes) for the rest."""
    pages: dict[bool, tuple[object, object]] = {}
    contexts = []
    for online in (False, True):
        context = browser.new_context(viewport=VIEWPORT)  # type: ignore[attr-defined]
        if online:
            offline_network(context, lambda: True)
        contexts.append(context)
        pages[online] = (context.new_page(), context.new_page())
    yield pages
    for context in contexts:
        context.close()


def needs_network(scene: str) -> bool:
    return NETWORK_RE.search((SCENES_DIR / f"{scene}.tsx").read_text()) is not None


def shot(page: object) -> str:
    page.add_style_tag(content=HIDE_CONTROLS)  # type: ignore[attr-defined]
    png = page.screenshot(scale="css", caret="initial")  # type: ignore[attr-defined]
    return "data:image/png;base64," + base64.b64encode(png).decode()


def gradient_png(width: int = 96, height: int = 54) -> bytes:
    """A small PNG (a colour gradient) for the scenes' staticFile() images."""
    rows = b"".join(b"\0" + bytes(c for x in range(width) for c in (x * 255 // width, y * 255 // height, 160))
                    for y in range(height))
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


# Files the scenes load with staticFile() (from the page's origin, as the Player resolves it).
STATIC_FILES = {"/products/aurora.png": gradient_png()}


def test_the_golden_set_is_every_fixture() -> None:
    assert len(SCENES) >= 40


@pytest.mark.parametrize("scene", [p.stem for p in SCENES])
def test_preview_matches_the_packages_used_directly(scene: str, golden_site: PreviewSite, reference: StaticServer,
                                                   golden_contexts: dict[bool, tuple[object, object]]) -> None:
    preview, plain = golden_contexts[needs_network(scene)]
    plain.goto(reference.url(f"/{scene}"))  # type: ignore[attr-defined]
    plain.wait_for_function("typeof window.showReference === 'function'")  # type: ignore[attr-defined]
    preview.goto(golden_site.preview_url(scene, FRAMES[0]))  # type: ignore[attr-defined]
    for frame in FRAMES:
        if frame != FRAMES[0]:  # the same page's mount call on a fresh root: no page load per frame
            preview.evaluate(REMOUNT, [golden_site.component_url(scene), frame])  # type: ignore[attr-defined]
        state = wait_ready(preview, READY_MS)
        assert state == "still", (frame, state, preview.evaluate("document.body.innerText"))  # type: ignore[attr-defined]
        plain.evaluate("(frame) => window.showReference(frame)", frame)  # type: ignore[attr-defined]
        wait_ready(plain, READY_MS)
        ours, theirs = shot(preview), shot(plain)
        share = plain.evaluate(DIFF_SCRIPT, [ours, theirs, CHANNEL_TOLERANCE])  # type: ignore[attr-defined]
        if share > PIXEL_TOLERANCE:  # keep the pair for a human to look at
            FAILURES.mkdir(parents=True, exist_ok=True)
            for label, data in (("preview", ours), ("reference", theirs)):
                (FAILURES / f"{scene}-{frame}-{label}.png").write_bytes(base64.b64decode(data.split(",", 1)[1]))
        assert share <= PIXEL_TOLERANCE, f"frame {frame}: {share:.2%} of pixels differ (pngs in {FAILURES})"
