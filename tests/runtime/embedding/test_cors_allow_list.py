"""With PROXY_CORS_ORIGINS set to an allow-list, only the listed host origin can import scenes,
including when PROXY_PUBLIC_BASE_URL sends the redirect to another origin (a CDN)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import Any

import pytest

from proxy.preview import RuntimeAssets
from tests.fixtures_browser import StaticServer
from tests.fixtures_browser_server import ProxyClient
from tests.fixtures_server import ServerProcess, free_port, server_env
from tests.runtime.embedding.conftest import SCENES_DIR, SceneRef, host_html, scene_text

pytestmark = pytest.mark.browser

def static_site() -> StaticServer:
    site = StaticServer()
    site.add("/favicon.ico", b"", "image/x-icon")
    return site


@pytest.fixture(scope="module")
def allowed_site() -> Iterator[StaticServer]:
    site = static_site()
    yield site
    site.close()


@pytest.fixture(scope="module")
def other_site() -> Iterator[StaticServer]:
    site = static_site()
    yield site
    site.close()


@pytest.fixture(scope="module")
def cdn_proxy(tmp_path_factory: pytest.TempPathFactory, allowed_site: StaticServer,
              runtime_assets: RuntimeAssets) -> Iterator[ProxyClient]:
    """A server whose public base URL is another origin (localhost vs 127.0.0.1, same process), as
    when artifacts are served from a CDN host: the 302 then crosses origins."""
    tmp = tmp_path_factory.mktemp("e2e-cors")
    port = free_port()
    server = ServerProcess(port, server_env(database_url=f"sqlite:///{tmp}/p.sqlite3",
                                            storage_url=f"file://{tmp}/artifacts",
                                            cors_origins=allowed_site.origin,
                                            public_base_url=f"http://localhost:{port}"),
                           1, tmp / "server.log")
    server.start()
    yield ProxyClient(server)
    server.stop(signal.SIGTERM)


@pytest.fixture(scope="module")
def title_card(cdn_proxy: ProxyClient) -> dict[str, Any]:
    meta = cdn_proxy.create_scene((SCENES_DIR / "m01_title_card.tsx").read_text(encoding="utf-8"), "cdn")
    assert meta["status"] == "ready"
    assert meta["compiledUrl"].startswith("http://localhost:")
    return meta


def wait_for_scene_or_error(page: Any) -> None:
    page.wait_for_function(
        "document.querySelector('[data-host-error]') || document.querySelector('.__remotion-player')"
        "?.innerText.trim()", timeout=15_000)


def test_allowed_origin_imports_scene_through_redirect_to_the_public_base_url(
        page: Any, cdn_proxy: ProxyClient, allowed_site: StaticServer, runtime_assets: RuntimeAssets,
        title_card: dict[str, Any]) -> None:
    scene = SceneRef(title_card["id"], cdn_proxy.component_url(title_card["id"]))
    page.goto(allowed_site.add_html("/allowed.html", host_html(cdn_proxy, runtime_assets, [scene])))
    wait_for_scene_or_error(page)
    errors = page.locator("[data-host-error]")
    assert errors.count() == 0, (errors.inner_text(), page.errors.console_errors)
    assert "Launch Week" in scene_text(page)


def test_artifact_cors_answer_is_safe_for_shared_caches(cdn_proxy: ProxyClient, allowed_site: StaticServer,
                                                        title_card: dict[str, Any]) -> None:
    path = f"/components/{title_card['compiledHash']}.js"
    for origin in (allowed_site.origin, "null"):
        answer = cdn_proxy.request("GET", path, headers={"Origin": origin})
        allow = answer.headers.get("access-control-allow-origin")
        vary = {v.strip().lower() for v in answer.headers.get("vary", "").split(",")}
        # cached for a year by anyone: either the same answer for every origin, or keyed on Origin
        assert allow == "*" or (allow == origin and "origin" in vary), (origin, answer.headers)


def test_redirect_is_not_readable_by_an_unlisted_origin(cdn_proxy: ProxyClient, title_card: dict[str, Any],
                                                        allowed_site: StaticServer) -> None:
    path = f"/api/components/{title_card['id']}"
    listed = cdn_proxy.request("GET", path, headers={"Origin": allowed_site.origin})
    assert listed.headers.get("access-control-allow-origin") == allowed_site.origin
    assert "origin" in listed.headers.get("vary", "").lower()
    unlisted = cdn_proxy.request("GET", path, headers={"Origin": "https://evil.example"})
    assert unlisted.status == 302
    assert "access-control-allow-origin" not in unlisted.headers
    # the refusal is keyed on Origin too, or a shared cache could hand it to the listed origin
    assert "origin" in unlisted.headers.get("vary", "").lower()
    preflight = cdn_proxy.request("OPTIONS", path, headers={"Origin": "https://evil.example",
                                                            "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-methods" not in preflight.headers


def test_unlisted_origin_cannot_import_scene(page: Any, cdn_proxy: ProxyClient, other_site: StaticServer,
                                             runtime_assets: RuntimeAssets, title_card: dict[str, Any]) -> None:
    scene = SceneRef(title_card["id"], cdn_proxy.component_url(title_card["id"]))
    # a classic <script> needs no CORS, so the unlisted host still gets the runtime; the import is what's refused
    page.goto(other_site.add_html("/other.html", host_html(cdn_proxy, runtime_assets, [scene], cors_runtime=False)))
    wait_for_scene_or_error(page)
    assert "Failed to fetch dynamically imported module" in page.locator("[data-host-error]").inner_text()
    assert "Launch Week" not in scene_text(page)
    assert any("blocked by CORS policy" in e for e in page.errors.console_errors), page.errors.console_errors
