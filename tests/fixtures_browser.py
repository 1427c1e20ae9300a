"""Browser test fixtures: headless Chromium via Playwright, plus tiny cross-origin test servers.

A plugin of the root conftest. The Playwright API used here is the sync one, so browser tests
are plain (non-async) test functions; run servers they talk to
in a thread or a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from proxy.preview import RuntimeAssets, default_runtime_dir, render_preview_page
from tests.runtime.testfont import box_font_woff2

REPO_ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("PROXY_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
READY_TIMEOUT_MS = 15_000


# --- the runtime bundle ---------------------------------------------------------------------------

def _runtime_is_stale(out_dir: Path) -> bool:
    manifest = out_dir / "manifest.json"
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = [REPO_ROOT / "runtime" / "build.mjs", REPO_ROOT / "runtime" / "google-fonts.json",
               REPO_ROOT / "package-lock.json", *(REPO_ROOT / "runtime" / "src").rglob("*")]
    return any(p.is_file() and p.stat().st_mtime > built for p in sources)


def build_runtime(out_dir: Path | None = None) -> RuntimeAssets:
    """Build the runtime if its sources changed since the last build, then load it."""
    target = out_dir or default_runtime_dir()
    if _runtime_is_stale(target):
        subprocess.run(["node", str(REPO_ROOT / "runtime" / "build.mjs"), str(target)],
                       cwd=REPO_ROOT, check=True, capture_output=True, timeout=120)
    return RuntimeAssets.load(target)


@pytest.fixture(scope="session")
def runtime_assets() -> RuntimeAssets:
    return build_runtime()


# --- the browser ----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Chromium for the whole session (launching takes ~0.5 s)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - a setup problem, said plainly
        pytest.fail("the `playwright` Python package is not installed (pip install playwright)")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium, or set PROXY_TEST_CHROMIUM")
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@dataclass
class PageErrors:
    """Uncaught exceptions and failed requests seen by a page; tests assert it stays empty."""

    uncaught: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.uncaught)

    @classmethod
    def watch(cls, page: Any, with_location: bool = False) -> PageErrors:
        """Collect `page`'s uncaught errors and console errors into `page.errors` (and return it);
        `with_location` adds the script URL to each console error (cross-origin tests need it)."""
        errors = cls()
        page.on("pageerror", lambda exc: errors.uncaught.append(str(exc)))

        def on_console(msg: Any) -> None:
            if msg.type == "error":
                where = f" @ {msg.location.get('url', '')}" if with_location else ""
                errors.console_errors.append(f"{msg.text}{where}")

        page.on("console", on_console)
        page.errors = errors
        return errors


# Hosts the real packages fetch from. Tests never reach the internet: Google Fonts files come from
# `testfont` (or fail, to test the offline fallback); the Iconify API knows no icons.
GOOGLE_FONTS_FILES = "https://fonts.gstatic.com/**"
ICONIFY_APIS = ("https://api.iconify.design/**", "https://api.simplesvg.com/**", "https://api.unisvg.com/**")


def offline_network(context: object, fonts_online: Callable[[], bool]) -> None:
    """Route the packages' network hosts: fonts answered locally while `fonts_online()`, else refused."""
    font = box_font_woff2()

    def fonts(route: object) -> None:
        if fonts_online():
            route.fulfill(status=200, body=font, headers={  # type: ignore[attr-defined]
                "Content-Type": "font/woff2", "Access-Control-Allow-Origin": "*"})
        else:
            route.abort("internetdisconnected")  # type: ignore[attr-defined]

    def icons(route: object) -> None:
        # What the Iconify API says of icons it does not have: no data, every name "not_found".
        url = urlsplit(route.request.url)  # type: ignore[attr-defined]
        prefix = url.path.strip("/").removesuffix(".json")
        names = [n for n in parse_qs(url.query).get("icons", [""])[0].split(",") if n]
        route.fulfill(status=200, json={"prefix": prefix, "icons": {}, "not_found": names},  # type: ignore[attr-defined]
                      headers={"Access-Control-Allow-Origin": "*"})

    context.route(GOOGLE_FONTS_FILES, fonts)  # type: ignore[attr-defined]
    for pattern in ICONIFY_APIS:
        context.route(pattern, icons)  # type: ignore[attr-defined]


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    """A fresh context + page (1280x720). `page.errors` collects uncaught page errors.

    Google Fonts files are served by the test (`page.fonts_online = False` refuses them)."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})  # type: ignore[attr-defined]
    pg = context.new_page()
    pg.fonts_online = True
    offline_network(context, lambda: bool(pg.fonts_online))
    PageErrors.watch(pg)
    yield pg
    context.close()


def wait_ready(page: object, timeout_ms: int = READY_TIMEOUT_MS) -> str:
    """Wait until the preview page says it is done (`body[data-ready=1]`); return its data-state."""
    page.wait_for_function("document.body.dataset.ready === '1'", timeout=timeout_ms)  # type: ignore[attr-defined]
    return page.evaluate("document.body.dataset.state")  # type: ignore[attr-defined]


# --- servers ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Route:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


class StaticServer:
    """An HTTP server on 127.0.0.1 answering from an in-memory route table (path -> Route).

    Every answer carries permissive CORS headers, as the artifact server's module routes do.
    The query string is ignored when matching, so `?retry=…` URLs hit the same route.
    """

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_OPTIONS(self) -> None:
                self._answer(Route(204), body=False)

            def do_HEAD(self) -> None:
                self._answer(server.routes.get(urlsplit(self.path).path, _NOT_FOUND), body=False)

            def do_GET(self) -> None:
                server.requests.append(self.path)
                self._answer(server.routes.get(urlsplit(self.path).path, _NOT_FOUND), body=True)

            def _answer(self, route: Route, body: bool) -> None:
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(route.body)))
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Access-Control-Allow-Headers", "*")
                if not any(name.lower() == "cache-control" for name, _ in route.headers):
                    self.send_header("Cache-Control", "no-store")
                for name, value in route.headers:
                    self.send_header(name, value)
                self.end_headers()
                if body:
                    self.wfile.write(route.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def origin(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.origin + path

    def add(self, path: str, body: str | bytes, content_type: str = "text/plain; charset=utf-8",
            status: int = 200, headers: tuple[tuple[str, str], ...] = ()) -> str:
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = Route(status, data, content_type, headers)
        return self.url(path)

    def add_js(self, path: str, source: str | bytes, immutable: bool = False) -> str:
        """`immutable`: cached like a content-addressed file (else `no-store`, as every route here)."""
        headers = (("Cache-Control", IMMUTABLE),) if immutable else ()
        return self.add(path, source, "text/javascript; charset=utf-8", headers=headers)

    def add_html(self, path: str, source: str) -> str:
        return self.add(path, source, "text/html; charset=utf-8")

    def add_redirect(self, path: str, location: str, status: int = 302) -> str:
        self.routes[path] = Route(status, headers=(("Location", location), ("Cache-Control", "no-cache")))
        return self.url(path)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


_NOT_FOUND = Route(404, b"not found")
IMMUTABLE = "max-age=31536000, immutable"


@pytest.fixture
def serve() -> Iterator[Callable[[], StaticServer]]:
    """A factory of StaticServers (each on its own port, so each is its own origin)."""
    servers: list[StaticServer] = []

    def make() -> StaticServer:
        servers.append(StaticServer())
        return servers[-1]

    yield make
    for s in servers:
        s.close()


class PreviewSite:
    """Stands in for artifact-proxy: the page origin serves /preview + /runtime, and a second
    origin serves /api/components/{id} (302) -> /components/{id}.js like the CDN would."""

    def __init__(self, pages: StaticServer, modules: StaticServer, runtime: RuntimeAssets) -> None:
        self.pages, self.modules, self.runtime = pages, modules, runtime
        pages.add(runtime.url_path, runtime.body, runtime.content_type, headers=(("Cache-Control", IMMUTABLE),))

    def add_module(self, scene_id: str, source: str) -> str:
        self.modules.add_js(f"/components/{scene_id}.js", source)
        return self.modules.add_redirect(f"/api/components/{scene_id}", f"/components/{scene_id}.js")

    def component_url(self, scene_id: str) -> str:
        return self.modules.url(f"/api/components/{scene_id}")

    def preview_url(self, scene_id: str, frame: int | None = None) -> str:
        path = f"/preview/{scene_id}" + ("" if frame is None else f"/{frame}")
        html = render_preview_page(scene_id, self.runtime.url_path, self.component_url(scene_id), frame)
        return self.pages.add_html(path, html)

    def add_page(self, path: str, body_html: str) -> str:
        """A page with the runtime loaded and `body_html` as its body (for custom layouts)."""
        doc = (f'<!doctype html><html><head><meta charset="utf-8"><script src="{self.runtime.url_path}">'
               f"</script></head><body>{body_html}</body></html>")
        return self.pages.add_html(path, doc)


@pytest.fixture
def preview_site(serve: Callable[[], StaticServer], runtime_assets: RuntimeAssets) -> PreviewSite:
    return PreviewSite(serve(), serve(), runtime_assets)
