"""Where the old hand-written runtime differed from the packages the product uses, the preview now
behaves like the real ones: Remotion's own overshootClamping, audio that is really in the page,
Google Fonts that load (and fall back when they cannot), and lucide-react 0.503's icon names."""

from __future__ import annotations

import asyncio
import io
import struct
import wave
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.fixtures_browser import PreviewSite, wait_ready

pytestmark = pytest.mark.browser


def compile_scene(source: str) -> bytes:
    """The scene through the real compiler (a pool of its own; Playwright owns this thread's loop)."""
    from proxy.compiler.pool import CompilerPool
    from tests.proxy.compiler.conftest import make_settings

    async def run() -> bytes:
        pool = CompilerPool(make_settings())
        try:
            await pool.start()
            return (await pool.compile(source)).code
        finally:
            await pool.close()

    with ThreadPoolExecutor(1) as ex:
        return ex.submit(asyncio.run, run()).result()


def silent_wav(seconds: float = 1.0, rate: int = 8000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(struct.pack("<h", 0) * int(rate * seconds))
    return out.getvalue()


def test_spring_overshoot_clamping_with_a_target_other_than_1_is_remotions(page, preview_site: PreviewSite) -> None:
    # Remotion 4.0.320 runs the spring from 0 to 1, clamps that against `to`, then maps it onto
    # [from, to]: with to = 1 the clamp holds; with to = 200 it never bites and the spring overshoots
    # just as without it. The product renders that, so the preview must too (the old runtime clamped).
    page.goto(preview_site.add_page("/spring", ""))
    series = """(config, from, to) => [...Array(90).keys()].map((frame) =>
        Remotion.spring({ frame, fps: 30, from, to, config }))"""
    clamped_unit = page.evaluate(f"({series})({{damping: 5, overshootClamping: true}}, 0, 1)")
    loose_unit = page.evaluate(f"({series})({{damping: 5}}, 0, 1)")
    assert max(loose_unit) > 1.3 and max(clamped_unit) == pytest.approx(1)
    clamped = page.evaluate(f"({series})({{damping: 5, overshootClamping: true}}, 0, 200)")
    loose = page.evaluate(f"({series})({{damping: 5}}, 0, 200)")
    assert clamped == pytest.approx(loose)
    assert max(clamped) > 260  # past the target
    assert clamped == pytest.approx([200 * v for v in loose_unit])


AUDIO_SCENE = """import { AbsoluteFill, Audio, Video } from 'remotion';
export default function Scene() {
  return (
    <AbsoluteFill style={{ background: '#111' }}>
      <h1 style={{ color: 'white' }}>with sound</h1>
      <Audio src={%(audio)r} volume={0.25} />
    </AbsoluteFill>
  );
}
"""


def test_audio_is_in_the_page_with_its_source_and_volume(page, preview_site: PreviewSite) -> None:
    audio = preview_site.modules.add("/sound.wav", silent_wav(), "audio/wav")
    preview_site.add_module("audio", compile_scene(AUDIO_SCENE % {"audio": audio}))
    page.goto(preview_site.preview_url("audio", frame=10))
    assert wait_ready(page) == "still"
    page.wait_for_function("[...document.querySelectorAll('audio')].some((a) => a.src.endsWith('/sound.wav'))",
                           timeout=10_000)
    volume = page.evaluate("[...document.querySelectorAll('audio')].find((a) => a.src.endsWith('/sound.wav')).volume")
    assert volume == pytest.approx(0.25)
    assert not page.errors, page.errors.uncaught


FONT_SCENE = """import { AbsoluteFill } from 'remotion';
import { loadFont } from '@remotion/google-fonts/Montserrat';
const { fontFamily } = loadFont('normal', { weights: ['400'], subsets: ['latin'] });
export default function Scene() {
  return (
    <AbsoluteFill style={{ background: '#fff', alignItems: 'flex-start' }}>
      <span id="probe" style={{ fontFamily, fontSize: 100, whiteSpace: 'nowrap' }}>ABCDE</span>
    </AbsoluteFill>
  );
}
"""
# tests/runtime/testfont.py: every glyph is one em wide, so the probe is 5 x 100 px wide in the test
# font (offsetWidth is before the Player's scaling transform) and some other width in any other face.


def test_google_font_loads_through_load_font_before_the_preview_is_ready(page, preview_site: PreviewSite) -> None:
    preview_site.add_module("font", compile_scene(FONT_SCENE))
    page.goto(preview_site.preview_url("font", frame=0))
    assert wait_ready(page) == "still"
    # Ready already means loaded: the family is in document.fonts and the text is set in it.
    assert page.evaluate("document.fonts.check('100px Montserrat')")
    assert page.evaluate("[...document.fonts].some((f) => f.family === 'Montserrat' && f.status === 'loaded')")
    assert page.evaluate("document.getElementById('probe').offsetWidth") == 500
    assert not page.errors, page.errors.uncaught


def test_google_font_falls_back_when_offline(page, preview_site: PreviewSite) -> None:
    page.fonts_online = False  # every fonts.gstatic.com request fails
    preview_site.add_module("font", compile_scene(FONT_SCENE))
    page.goto(preview_site.preview_url("font", frame=0))
    assert wait_ready(page, 20_000) == "still"  # the delayRender budget runs out; the scene shows
    assert page.locator("#probe").inner_text() == "ABCDE"
    assert page.evaluate("getComputedStyle(document.getElementById('probe')).fontFamily") == "Montserrat"
    assert not page.evaluate("[...document.fonts].some((f) => f.family === 'Montserrat' && f.status === 'loaded')")
    assert page.evaluate("document.getElementById('probe').offsetWidth") != 500  # a fallback face


LUCIDE_SCENE = """import { AbsoluteFill } from 'remotion';
import { Github } from 'lucide-react';
export default () => (
  <AbsoluteFill style={{ background: '#0d1117', alignItems: 'center', justifyContent: 'center' }}>
    <Github id="gh" size={300} color="white" />
  </AbsoluteFill>
);
"""


def test_a_lucide_icon_that_only_0_503_has_renders(page, preview_site: PreviewSite) -> None:
    # `Github` is in lucide-react 0.503 (the product's pin); 1.x dropped the brand icons.
    preview_site.add_module("gh", compile_scene(LUCIDE_SCENE))
    page.goto(preview_site.preview_url("gh", frame=0))
    assert wait_ready(page) == "still"
    assert page.locator("svg#gh").get_attribute("class") == "lucide lucide-github"
    assert page.locator("svg#gh path").count() >= 2
    assert not page.errors, page.errors.uncaught
