"""A host app on another origin imports compiled scenes straight from the proxy (302 followed,
CORS) and plays them with the runtime's Player: the contract an embedding product relies on."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures_browser_server import ProxyClient
from tests.runtime.embedding.conftest import SCENES_DIR, HostPage, SceneRef, origin_of, scene_text

pytestmark = pytest.mark.browser

EXPOSED = {"location", "x-compilation-error", "x-artifact-hash", "etag"}


def exposed_headers(headers: dict[str, str]) -> set[str]:
    return {h.strip().lower() for h in headers.get("access-control-expose-headers", "").split(",") if h.strip()}


@pytest.fixture(scope="module")
def title_card(proxy: ProxyClient) -> dict[str, Any]:
    meta = proxy.create_scene((SCENES_DIR / "m01_title_card.tsx").read_text(), "title card")
    assert meta["status"] == "ready", meta
    return meta


def test_host_page_on_another_origin_imports_scene_via_redirect_and_renders_its_text(
        page: Any, proxy: ProxyClient, host_page: HostPage, title_card: dict[str, Any]) -> None:
    scene_id = title_card["id"]
    statuses: dict[str, int] = {}
    page.on("response", lambda r: statuses.__setitem__(r.url, r.status))
    url = host_page("/embed-one.html", [SceneRef(scene_id, proxy.component_url(scene_id), frame=30)])
    assert origin_of(url) != proxy.base

    page.goto(url)
    slot = f"[data-slot='{scene_id}'] .__remotion-player"
    page.wait_for_function(f"document.querySelector(\"{slot}\")?.innerText.includes('Launch Week')", timeout=15_000)

    text = scene_text(page, slot)
    assert "Launch Week" in text and "Five days of new features" in text
    assert page.locator("[data-host-error]").count() == 0
    # the import really went through the redirect to the content-addressed artifact
    assert statuses.get(proxy.component_url(scene_id)) == 302
    assert statuses.get(f"{proxy.base}/components/{title_card['compiledHash']}.js") == 200
    assert not page.errors.uncaught, page.errors.uncaught
    assert not page.errors.console_errors, page.errors.console_errors


def test_redirect_and_artifact_carry_cors_headers_for_a_foreign_origin(
        proxy: ProxyClient, title_card: dict[str, Any]) -> None:
    origin = {"Origin": "https://app.example.com"}
    redirect = proxy.request("GET", f"/api/components/{title_card['id']}", headers=origin)
    assert redirect.status == 302
    assert redirect.headers["location"].endswith(f"/components/{title_card['compiledHash']}.js")
    assert redirect.headers["cache-control"] == "no-cache"
    assert redirect.headers.get("access-control-allow-origin") in ("*", "https://app.example.com")
    assert {"location", "x-compilation-error"} <= exposed_headers(redirect.headers)

    artifact = proxy.request("GET", f"/components/{title_card['compiledHash']}.js", headers=origin)
    assert artifact.status == 200
    assert artifact.headers["content-type"] == "text/javascript; charset=utf-8"
    assert artifact.headers.get("access-control-allow-origin") in ("*", "https://app.example.com")
    assert "etag" in exposed_headers(artifact.headers)
    assert b"export" in artifact.body and b"from \"react\"" not in artifact.body  # no bare import left


@pytest.mark.parametrize("path", ["/api/components/{id}", "/components/{hash}.js"])
def test_cors_preflight_is_answered_for_module_routes(proxy: ProxyClient, title_card: dict[str, Any],
                                                      path: str) -> None:
    answer = proxy.request("OPTIONS", path.format(id=title_card["id"], hash=title_card["compiledHash"]), headers={
        "Origin": "https://app.example.com",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "if-none-match, x-trace-id",
    })
    assert answer.status in (200, 204)
    assert answer.headers.get("access-control-allow-origin") in ("*", "https://app.example.com")
    assert "GET" in answer.headers.get("access-control-allow-methods", "")
    allowed = answer.headers.get("access-control-allow-headers", "").lower()
    assert "if-none-match" in allowed and "x-trace-id" in allowed


def test_browser_preflighted_fetch_from_host_origin_reads_exposed_headers(
        page: Any, proxy: ProxyClient, host_page: HostPage, title_card: dict[str, Any]) -> None:
    page.goto(host_page("/blank.html", []))
    # A non-safelisted request header makes Chromium send a real OPTIONS preflight first.
    result = page.evaluate("""async (url) => {
        const r = await fetch(url, { headers: { 'X-Trace-Id': 'e2e' } });
        return { ok: r.ok, redirected: r.redirected, url: r.url, etag: r.headers.get('etag'),
                 type: r.headers.get('content-type') };
    }""", proxy.component_url(title_card["id"]))
    assert result["ok"] and result["redirected"]
    assert result["url"].endswith(f"/components/{title_card['compiledHash']}.js")
    assert result["etag"], "ETag must be exposed to cross-origin readers"
    assert result["type"].startswith("text/javascript")


SAME_NAMES = """import {{ AbsoluteFill, useCurrentFrame }} from 'remotion';

const ACCENT = '{accent}';

function Title() {{
  const frame = useCurrentFrame();
  return <h1 style={{{{ color: ACCENT, fontSize: 120 }}}}>{label} title at {{frame}}</h1>;
}}

export const durationInFrames = 90;

export default function Scene() {{
  return (
    <AbsoluteFill style={{{{ background: '#0b1020', justifyContent: 'center', alignItems: 'center' }}}}>
      <Title />
    </AbsoluteFill>
  );
}}
"""


def test_two_scenes_declaring_the_same_top_level_names_render_side_by_side(
        page: Any, proxy: ProxyClient, host_page: HostPage) -> None:
    alpha = proxy.create_scene(SAME_NAMES.format(accent="#f472b6", label="Alpha"), "alpha")
    beta = proxy.create_scene(SAME_NAMES.format(accent="#34d399", label="Beta"), "beta")
    assert alpha["status"] == beta["status"] == "ready"
    assert alpha["compiledHash"] != beta["compiledHash"]
    url = host_page("/embed-two.html", [SceneRef(alpha["id"], proxy.component_url(alpha["id"]), frame=12),
                                        SceneRef(beta["id"], proxy.component_url(beta["id"]), frame=34)])
    page.goto(url)
    page.wait_for_function("document.querySelectorAll('.__remotion-player h1').length === 2", timeout=15_000)

    a = scene_text(page, f"[data-slot='{alpha['id']}'] .__remotion-player")
    b = scene_text(page, f"[data-slot='{beta['id']}'] .__remotion-player")
    assert a == "Alpha title at 12"
    assert b == "Beta title at 34"
    colors = page.eval_on_selector_all(".__remotion-player h1", "els => els.map(e => getComputedStyle(e).color)")
    assert colors == ["rgb(244, 114, 182)", "rgb(52, 211, 153)"]
    assert not page.errors.uncaught, page.errors.uncaught
    assert not page.errors.console_errors, page.errors.console_errors
