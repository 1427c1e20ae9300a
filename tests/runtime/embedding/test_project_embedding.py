"""A host app on another origin imports a whole project as one module (served at the project's URL,
CORS) and plays its scenes side by side with the runtime's Player, each picked from the module's
default map: one request for the project, none per scene."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.fixtures_browser_server import ProxyClient
from tests.runtime.embedding.conftest import SCENES_DIR, HostPage, SceneRef, origin_of, scene_text
from tests.runtime.embedding.test_cross_origin_embedding import SAME_NAMES

pytestmark = pytest.mark.browser


def test_host_page_imports_the_project_module_once_and_plays_two_of_its_scenes(
        page: Any, proxy: ProxyClient, host_page: HostPage) -> None:
    project = str(uuid.uuid4())
    # same top-level names in both: one bundle scope must keep them apart
    alpha = proxy.create_scene(SAME_NAMES.format(accent="#f472b6", label="Alpha"), "alpha", project_id=project)
    beta = proxy.create_scene(SAME_NAMES.format(accent="#34d399", label="Beta"), "beta", project_id=project)
    card = proxy.create_scene((SCENES_DIR / "m01_title_card.tsx").read_text(), "card", project_id=project)
    assert alpha["status"] == beta["status"] == card["status"] == "ready"
    answer = proxy.request("GET", f"/api/projects/{project}/components")
    assert answer.status == 200 and answer.headers["x-scene-count"] == "3"

    requests: list[str] = []
    statuses: dict[str, int] = {}
    page.on("request", lambda r: requests.append(r.url))
    page.on("response", lambda r: statuses.__setitem__(r.url, r.status))
    module = proxy.project_url(project)
    url = host_page("/embed-project.html", [SceneRef(alpha["id"], module, frame=12, pick=alpha["id"]),
                                            SceneRef(beta["id"], module, frame=34, pick=beta["id"])])
    assert origin_of(url) != proxy.base

    page.goto(url)
    page.wait_for_function("document.querySelectorAll('.__remotion-player h1').length === 2", timeout=15_000)

    assert scene_text(page, f"[data-slot='{alpha['id']}'] .__remotion-player") == "Alpha title at 12"
    assert scene_text(page, f"[data-slot='{beta['id']}'] .__remotion-player") == "Beta title at 34"
    colors = page.eval_on_selector_all(".__remotion-player h1", "els => els.map(e => getComputedStyle(e).color)")
    assert colors == ["rgb(244, 114, 182)", "rgb(52, 211, 153)"]
    assert page.locator("[data-host-error]").count() == 0
    # one request for the project, however many slots pick from it; no scene was fetched on its own
    assert requests.count(module) == 1, requests
    assert statuses.get(module) == 200
    assert not [u for u in requests if "/api/components/" in u or u.startswith(proxy.base + "/components/")], \
        requests
    assert not page.errors.uncaught, page.errors.uncaught
    assert not page.errors.console_errors, page.errors.console_errors


def test_a_reload_revalidates_the_project_module_and_shows_an_edit_made_since(
        page: Any, proxy: ProxyClient, host_page: HostPage) -> None:
    project = str(uuid.uuid4())
    scene = proxy.create_scene(SAME_NAMES.format(accent="#f472b6", label="Before"), "edited", project_id=project)
    module = proxy.project_url(project)
    url = host_page("/embed-project-reload.html", [SceneRef(scene["id"], module, frame=5, pick=scene["id"])])
    headline = f"[data-slot='{scene['id']}'] .__remotion-player h1"
    conditional: list[str | None] = []

    def on_request(r: Any) -> None:
        if r.url == module:
            conditional.append(r.all_headers().get("if-none-match"))

    page.on("request", on_request)
    page.goto(url)
    page.wait_for_selector(headline, timeout=15_000)
    assert scene_text(page, headline) == "Before title at 5"
    page.reload()  # unchanged: the browser's copy is revalidated and reused
    page.wait_for_selector(headline, timeout=15_000)
    assert scene_text(page, headline) == "Before title at 5"

    proxy.update_scene(scene["id"], SAME_NAMES.format(accent="#f472b6", label="After"))
    page.reload()  # no max-age anywhere: the very next view has the edit
    page.wait_for_function(f"document.querySelector({headline!r})?.innerText === 'After title at 5'",
                           timeout=15_000)

    assert len(conditional) == 3, conditional
    assert conditional[0] is None and conditional[1] and conditional[1] == conditional[2], conditional
    assert not page.errors.uncaught, page.errors.uncaught
