"""The preview page and host runtime (the real Remotion packages) in headless Chromium, against
hand-written scene modules served from a second origin (as the CDN would serve compiled scenes)."""

from __future__ import annotations

import re
import socket

import pytest

from tests.fixtures_browser import PreviewSite, wait_ready
from tests.runtime import scenes

pytestmark = pytest.mark.browser


def text(page: object, selector: str) -> str:
    return page.locator(selector).inner_text(timeout=5_000)  # type: ignore[attr-defined]


def test_plays_scene_from_another_origin(page, preview_site: PreviewSite) -> None:
    preview_site.add_module("hello", scenes.FRAME_SCENE)
    page.goto(preview_site.preview_url("hello"))
    assert wait_ready(page) == "playing"
    assert text(page, "#title") == "Hello from the scene"
    assert text(page, "#config") == "1920x1080x30x150"
    root = page.locator("#root")
    # Autoplay advances the clock: the Player's frame (mirrored on the root) moves past 3 quickly.
    page.wait_for_function("Number(document.getElementById('root').dataset.frame) > 3", timeout=5_000)
    assert root.get_attribute("data-playing") == "true"
    page.get_by_role("button", name="Pause video").click(force=True)
    page.wait_for_function("document.getElementById('root').dataset.playing === 'false'", timeout=2_000)
    assert not page.errors, page.errors.uncaught


def test_still_frame_renders_that_frame_paused(page, preview_site: PreviewSite) -> None:
    preview_site.add_module("hello", scenes.FRAME_SCENE)
    page.goto(preview_site.preview_url("hello", frame=42))
    assert wait_ready(page) == "still"
    assert text(page, "#frame") == "Frame 42"
    assert text(page, "#seq-frame") == "seq 32"  # inside <Sequence from={10}>
    page.wait_for_timeout(300)
    assert text(page, "#frame") == "Frame 42"  # still paused
    assert page.locator("#root").get_attribute("data-playing") == "false"
    assert not page.errors, page.errors.uncaught


def test_duration_export_sets_length_and_frame_is_clamped(page, preview_site: PreviewSite) -> None:
    preview_site.add_module("dur", scenes.DURATION_SCENE)
    page.goto(preview_site.preview_url("dur", frame=500))
    wait_ready(page)
    assert text(page, "#duration") == "duration 90"
    assert page.locator("#root").get_attribute("data-frame") == "89"


def test_throwing_scene_shows_boundary_panel(page, preview_site: PreviewSite) -> None:
    preview_site.add_module("boom", scenes.THROWING_SCENE)
    page.goto(preview_site.preview_url("boom", frame=0))
    assert wait_ready(page) == "error"
    assert text(page, "[data-error-title]") == "The scene crashed while rendering"
    # Rendered as text: the markup in the message is visible, not interpreted.
    assert "Boom <b>not bold</b> at render" in text(page, "[data-error-message]")
    assert page.locator("[data-preview-error] b").count() == 0
    assert page.get_by_role("button", name="Retry").is_visible()
    assert not page.errors, page.errors.uncaught


def test_compile_error_module_shows_line_and_column(page, preview_site: PreviewSite) -> None:
    preview_site.add_module("bad", scenes.ERROR_MODULE)
    page.goto(preview_site.preview_url("bad"))
    assert wait_ready(page) == "error"
    assert text(page, "[data-error-title]") == "The scene failed to compile"
    assert text(page, "[data-error-message]") == "Unexpected token <img src=x onerror=alert(1)>"
    assert text(page, "[data-error-line]") == "3"
    assert text(page, "[data-error-column]") == "7"
    assert page.locator("[data-preview-error] img").count() == 0
    assert not page.errors, page.errors.uncaught


def test_failed_import_shows_panel_and_retry_reimports(page, preview_site: PreviewSite) -> None:
    page.goto(preview_site.preview_url("late", frame=5))  # nothing served yet: the import 404s
    assert wait_ready(page) == "error"
    assert text(page, "[data-error-title]") == "The scene could not be loaded"
    preview_site.add_module("late", scenes.FRAME_SCENE)
    page.get_by_role("button", name="Retry").click()
    page.wait_for_function("document.body.dataset.state === 'still'", timeout=10_000)
    assert text(page, "#frame") == "Frame 5"
    retried = [p for p in preview_site.modules.requests if p.startswith("/api/components/late?retry=")]
    assert retried, preview_site.modules.requests
    assert not page.errors, page.errors.uncaught


def test_module_without_default_export(page, preview_site: PreviewSite) -> None:
    preview_site.add_module("nodefault", scenes.NO_DEFAULT_MODULE)
    page.goto(preview_site.preview_url("nodefault"))
    assert wait_ready(page) == "error"
    assert "no default export" in text(page, "[data-error-message]")


def test_two_modules_with_same_top_level_names_on_one_page(page, preview_site: PreviewSite) -> None:
    a = preview_site.add_module("a", scenes.same_names_scene("first", "#7f1d1d"))
    b = preview_site.add_module("b", scenes.same_names_scene("second", "#14532d"))
    url = preview_site.add_page("/two", f"""
<div id="a" style="position:absolute;left:0;top:0;width:640px;height:360px"></div>
<div id="b" style="position:absolute;left:640px;top:0;width:640px;height:360px"></div>
<script type="module">
ArtifactProxyPreview.mount(document.getElementById("a"), {{componentUrl: "{a}", frame: 3}});
ArtifactProxyPreview.mount(document.getElementById("b"), {{componentUrl: "{b}", frame: 4}});
</script>""")
    page.goto(url)
    page.wait_for_function("document.querySelectorAll('.same-name').length === 2", timeout=10_000)
    assert page.locator(".same-name").all_inner_texts() == ["first 3", "second 4"]
    assert not page.errors, page.errors.uncaught


def test_runtime_features_in_one_scene(page, preview_site: PreviewSite, tmp_path) -> None:
    preview_site.add_module("sink", scenes.KITCHEN_SINK_SCENE)
    page.goto(preview_site.preview_url("sink", frame=45))
    assert wait_ready(page) == "still"
    assert text(page, "#font") == "Kitchen sink 45"
    assert text(page, "[data-testid=series-b]") == "20"  # second item starts at 20 + 5
    assert page.locator("[data-testid=series-a]").count() == 0
    assert text(page, "[data-testid=loop]") == "0"  # 45 = 3 * 15
    assert text(page, "[data-testid=frozen]") == "7"
    assert abs(float(text(page, "[data-testid=spring]")) - 1) < 0.01
    assert page.evaluate("getComputedStyle(document.querySelector('#font')).fontFamily") == "Poppins"
    # Iconify renders icon data it was given; one it would have to fetch (offline here) stays empty.
    assert page.locator("svg#icon-local rect").count() == 1
    assert page.locator("svg#icon-offline").count() == 0
    assert page.locator("#root svg path").count() >= 7  # shapes, lucide, heroicons
    page.screenshot(path=tmp_path / "preview.png")
    assert not page.errors, page.errors.uncaught


def test_globals_share_one_react(page, preview_site: PreviewSite) -> None:
    page.goto(preview_site.add_page("/blank", "<div id='x'></div>"))
    names = page.evaluate("""() => ['React', 'ReactDOM', 'Remotion', 'RemotionPlayer', 'RemotionShapes',
        'RemotionTransitions', 'RemotionPaths', 'IconifyIcon', 'RemotionGoogleFonts', 'LucideIcons',
        'HeroiconsSolid', 'HeroiconsOutline', 'ArtifactProxyPreview'].filter((n) => globalThis[n] === undefined)""")
    assert names == []
    assert page.evaluate("typeof ReactDOM.createRoot === 'function' && React.version.split('.')[0]") == "19"
    assert page.evaluate("Remotion.VERSION") == "4.0.320"
    assert page.evaluate("RemotionGoogleFonts.loadFont().fontFamily") == "Inter"
    assert page.evaluate("RemotionGoogleFonts.PlayfairDisplay.loadFont().fontFamily") == "Playfair Display"
    assert page.evaluate("RemotionGoogleFonts.loadFont('Playfair Display').fontFamily") == "Playfair Display"
    # A hook-using component rendered by the page's own ReactDOM inside a Player: one React.
    page.evaluate("""() => {
        const h = React.createElement;
        const S = () => { const [n] = React.useState(7); return h('b', {id: 'one'}, n + Remotion.useCurrentFrame()); };
        ReactDOM.createRoot(document.getElementById('x')).render(h(RemotionPlayer.Player, {
            component: S, durationInFrames: 10, compositionWidth: 100, compositionHeight: 100, fps: 30,
            initialFrame: 2, acknowledgeRemotionLicense: true, style: {width: 100, height: 100}}));
    }""")
    assert page.locator("#one").inner_text(timeout=5_000) == "9"
    assert not page.errors, page.errors.uncaught


MATH_CASES = [
    ("Remotion.interpolate(15, [0, 30], [0, 1])", 0.5),
    ("Remotion.interpolate(45, [0, 30], [0, 1])", 1.5),
    ("Remotion.interpolate(45, [0, 30], [0, 1], {extrapolateRight: 'clamp'})", 1),
    ("Remotion.interpolate(-10, [0, 30], [0, 1], {extrapolateLeft: 'identity'})", -10),
    ("Remotion.interpolate(5, [0, 10, 20], [0, 100, 0])", 50),
    ("Remotion.interpolate(15, [0, 10, 20], [0, 100, 0])", 50),
    ("Remotion.interpolate(5, [0, 10], [0, 1], {easing: Remotion.Easing.quad})", 0.25),
    ("Remotion.Easing.bezier(0.25, 0.1, 0.25, 1)(0.5)", 0.8024033877399112),
    ("Remotion.Easing.inOut(Remotion.Easing.cubic)(0.25)", 0.0625),
    ("Remotion.Easing.out(Remotion.Easing.quad)(0.5)", 0.75),
    ("Remotion.Easing.bounce(1)", 1),
    ("Remotion.spring({frame: 0, fps: 30})", 0),
    ("Remotion.spring({frame: 300, fps: 30, from: 10, to: 20})", 20),
    # Stretched to 10 frames, the spring ends where it "rests": within 0.005 of the target.
    ("Math.abs(Remotion.spring({frame: 10, fps: 30, durationInFrames: 10}) - 1) < 0.005 ? 1 : 0", 1),
    ("Remotion.spring({frame: 11, fps: 30, durationInFrames: 10})", 1),
    ("Remotion.random('seed') === Remotion.random('seed') ? 1 : 0", 1),
]


def test_remotion_math(page, preview_site: PreviewSite) -> None:
    page.goto(preview_site.add_page("/math", ""))
    got = page.evaluate("(exprs) => exprs.map((e) => globalThis.eval(e))", [e for e, _ in MATH_CASES])
    for (expr, expected), value in zip(MATH_CASES, got, strict=True):
        assert value == pytest.approx(expected, abs=1e-3), expr


def test_remotion_colors_and_spring_shape(page, preview_site: PreviewSite) -> None:
    page.goto(preview_site.add_page("/colors", ""))
    assert page.evaluate("Remotion.interpolateColors(0.5, [0, 1], ['red', 'blue'])") == "rgba(128, 0, 128, 1)"
    assert page.evaluate(
        "Remotion.interpolateColors(1, [0, 2], ['rgba(0, 0, 0, 0)', '#ffffff'])") == "rgba(128, 128, 128, 0.5)"
    # Alpha is kept as a byte, as in Remotion: 0.5 -> 128/255.
    assert page.evaluate(
        "Remotion.interpolateColors(0, [0, 1], ['hsla(0, 100%, 50%, 0.5)', 'white'])") == "rgba(255, 0, 0, 0.502)"
    values = page.evaluate("[...Array(60).keys()].map((f) => Remotion.spring({frame: f, fps: 30}))")
    assert max(values) > 1.05  # the default spring (damping 10) overshoots
    clamped = page.evaluate(
        "[...Array(60).keys()].map((f) => Remotion.spring({frame: f, fps: 30, config: {overshootClamping: true}}))")
    assert max(clamped) <= 1
    with pytest.raises(Exception, match=re.escape("strictly monotonically increasing")):
        page.evaluate("Remotion.interpolate(1, [0, 0], [0, 1])")


def test_loading_state_while_the_module_is_on_its_way(page, preview_site: PreviewSite) -> None:
    # A listening socket that never answers: the import stays pending.
    with socket.socket() as hang:
        hang.bind(("127.0.0.1", 0))
        hang.listen()
        port = hang.getsockname()[1]
        url = preview_site.add_page("/hang", f"""<div id="root" style="position:fixed;inset:0;background:#000"></div>
<script type="module">
ArtifactProxyPreview.mount(document.getElementById("root"), {{componentUrl: "http://127.0.0.1:{port}/x.js"}});
</script>""")
        page.goto(url)
        page.get_by_text("Compiling scene...").wait_for(timeout=5_000)
        assert page.get_by_role("progressbar").is_visible()
        assert page.evaluate("document.body.dataset.state") == "loading"


def test_transition_series_overlaps_and_fades(page, preview_site: PreviewSite) -> None:
    preview_site.add_module("tr", scenes.TRANSITION_SCENE)
    page.goto(preview_site.preview_url("tr", frame=25))
    assert wait_ready(page) == "still"
    assert text(page, "[data-testid=a]") == "a 25"
    assert text(page, "[data-testid=b]") == "b 5"  # B starts 10 frames early, under the fade
    # Under the fade, the entering scene's nearest faded ancestor is half transparent.
    opacity = page.locator("[data-testid=b]").evaluate("""e => {
        for (let n = e; n; n = n.parentElement) { const o = getComputedStyle(n).opacity; if (o !== '1') return o; }
        return '1'; }""")
    assert float(opacity) == pytest.approx(0.5)
    page.goto(preview_site.preview_url("tr", frame=35))
    wait_ready(page)
    assert page.locator("[data-testid=a]").count() == 0
    assert text(page, "[data-testid=b]") == "b 15"
    assert page.evaluate("RemotionPaths.evolvePath(0.5, 'M 0 0 L 100 0').strokeDashoffset") == pytest.approx(50)
    assert not page.errors, page.errors.uncaught
