"""The scene client in Chromium against a real proxy process: pages on another origin load the host
runtime and /runtime/scene-client.js from the proxy and use only the client's calls, the way the
product's views would. Every case asserts visible text: no case may end with a blank player.

Faults (a slow answer, a 503, a lost artifact) are injected on the browser's side of the wire with
Playwright routing; the proxy behind it is the real one."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import pytest

from proxy.preview import RuntimeAssets
from tests.client.conftest import HOSTS, ViewPage, visible_text
from tests.fixtures_browser_server import ProxyClient

pytestmark = pytest.mark.browser

SCENE = """import {{ AbsoluteFill, useCurrentFrame }} from 'remotion';

export const durationInFrames = {duration};

export default function Scene() {{
  const frame = useCurrentFrame();
  return (
    <AbsoluteFill style={{{{ background: '#0b1020', justifyContent: 'center', alignItems: 'center' }}}}>
      <h1 style={{{{ color: '#f8fafc', fontSize: 120 }}}}>{label} title at {{frame}}</h1>
    </AbsoluteFill>
  );
}}
"""

BROKEN = """export default function Scene() {
  return <div>never closed;
}
"""

TIMEOUT = 20_000


def scene(label: str, duration: int = 90) -> str:
    return SCENE.format(label=label, duration=duration)


def js(script: str, **values: Any) -> str:
    """`script` with each __NAME__ replaced by the JSON of values[name]."""
    for name, value in values.items():
        script = script.replace(f"__{name.upper()}__", json.dumps(value))
    return script


def wait_text(page: Any, selector: str, text: str, timeout: int = TIMEOUT) -> None:
    page.wait_for_function(
        "([sel, text]) => Array.from(document.querySelectorAll(sel)).some((e) => e.innerText.trim() === text)",
        arg=[selector, text], timeout=timeout)


def url_re(prefix: str) -> re.Pattern[str]:
    """`prefix` with any query string, and nothing else."""
    return re.compile(re.escape(prefix) + r"(\?.*)?$")


ONE_SCENE = """
root.render(h('div', { className: 'slot', 'data-slot': 'one' },
  h(SC.ServerScene, { client, sceneId: __ID__, initialFrame: __FRAME__ })));
"""


def test_the_client_is_served_by_a_stable_name_that_redirects_to_an_immutable_file(
        proxy: ProxyClient, scene_client_assets: RuntimeAssets) -> None:
    latest = proxy.request("GET", "/runtime/scene-client.js")
    assert latest.status == 302
    assert latest.headers["cache-control"] == "no-cache"
    assert latest.headers["access-control-allow-origin"] == "*"
    location = latest.headers["location"]
    assert re.fullmatch(r"/runtime/scene-client\.[0-9a-f]{16}\.js", location)
    assert location == scene_client_assets.url_path

    plain = proxy.request("GET", location, headers={"Accept-Encoding": "identity"})
    assert plain.status == 200
    assert plain.body == scene_client_assets.body
    assert plain.headers["content-type"] == "text/javascript; charset=utf-8"
    assert plain.headers["cache-control"] == "max-age=31536000, immutable"
    assert plain.headers["access-control-allow-origin"] == "*"
    again = proxy.request("GET", location, headers={"If-None-Match": plain.headers["etag"]})
    assert again.status == 304
    gzipped = proxy.request("GET", location, headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["content-encoding"] == "gzip"
    assert len(gzipped.body) <= 6 * 1024, len(gzipped.body)
    # the host runtime keeps its own names next to it
    runtime = proxy.request("GET", "/runtime/host-runtime.js")
    assert runtime.status == 302 and "/runtime/host-runtime." in runtime.headers["location"]
    assert proxy.request("GET", "/runtime/scene-client.0000000000000000.js").status == 404


@pytest.mark.parametrize("host", HOSTS)
def test_a_scene_loads_and_renders_in_the_player(page: Any, proxy: ProxyClient, view_page: ViewPage, host: str) -> None:
    meta = proxy.create_scene(scene("Alpha"), "alpha")
    assert meta["status"] == "ready"
    page.goto(view_page("/one.html", js(ONE_SCENE, id=meta["id"], frame=12), host=host))
    wait_text(page, "[data-slot=one] h1", "Alpha title at 12")
    assert page.locator("[data-scene-error]").count() == 0
    module = page.evaluate("(id) => client.loadScene(id).then((m) => [typeof m.default, m.durationInFrames])",
                           meta["id"])
    assert module == ["function", 90]
    assert not page.errors.uncaught, page.errors.uncaught


@pytest.mark.parametrize("host", HOSTS)
def test_the_loading_state_is_visible_while_the_server_is_slow(
        page: Any, proxy: ProxyClient, view_page: ViewPage, host: str) -> None:
    meta = proxy.create_scene(scene("Slow"), "slow")
    held: list[Any] = []
    pattern = url_re(proxy.component_url(meta["id"]))
    page.route(pattern, lambda route: held.append(route))  # answered when the test lets it through
    page.goto(view_page("/slow.html", js(ONE_SCENE, id=meta["id"], frame=3), host=host))

    loading = page.locator("[data-slot=one] [data-scene-loading]")
    loading.wait_for(state="visible", timeout=TIMEOUT)
    page.wait_for_timeout(400)
    assert loading.is_visible()
    assert loading.inner_text().strip() == "Compiling scene\u2026"
    box = loading.bounding_box()
    assert box and box["width"] > 200 and box["height"] >= 100
    animation = page.evaluate(
        "() => Array.from(document.querySelectorAll('[data-scene-loading] div')).map((e) => getComputedStyle(e)"
        ".animationName).filter((n) => n !== 'none')")
    assert animation == ["scene-client-bar"]
    assert page.locator("[data-slot=one] h1").count() == 0

    assert len(held) == 1
    for route in held:
        route.continue_()
    page.unroute(pattern)
    wait_text(page, "[data-slot=one] h1", "Slow title at 3")
    assert loading.count() == 0
    assert not page.errors.uncaught, page.errors.uncaught


@pytest.mark.parametrize("host", HOSTS)
def test_a_never_compiled_scene_shows_its_error_panel(
        page: Any, proxy: ProxyClient, view_page: ViewPage, host: str) -> None:
    meta = proxy.create_scene(BROKEN, "broken")
    assert meta["status"] == "error"
    page.goto(view_page("/broken.html", js(ONE_SCENE, id=meta["id"], frame=0), host=host))
    wait_text(page, "[data-slot=one] [data-compilation-error] div", "Scene failed to compile")
    text = visible_text(page, "[data-slot=one]")
    assert "Scene failed to compile" in text
    error = page.evaluate("(id) => client.loadScene(id).then((m) => m.compilationError)", meta["id"])
    assert error["message"] and error["line"] == 3  # resolves, never rejects, with the error
    assert error["message"].splitlines()[0] in text
    assert not page.errors.uncaught, page.errors.uncaught


def test_an_artifact_that_404s_once_is_retried_and_then_renders(
        page: Any, proxy: ProxyClient, view_page: ViewPage) -> None:
    meta = proxy.create_scene(scene("Lost"), "lost")
    first: list[str] = []

    def lose_the_first_artifact(route: Any) -> None:
        # the first redirect points at an artifact the server does not have (a stale edge mapping):
        # the real server answers that 404
        if not first and route.request.method == "GET":
            first.append(route.request.url)
            route.fulfill(status=302, headers={"Location": f"{proxy.base}/components/00000000deadbeef.js",
                                               "Access-Control-Allow-Origin": "*", "Cache-Control": "no-cache"})
        else:
            route.continue_()

    requests: list[tuple[str, str, int]] = []
    page.on("response", lambda r: requests.append((r.request.method, r.url, r.status)))
    page.route(url_re(proxy.component_url(meta["id"])), lose_the_first_artifact)
    page.goto(view_page("/lost.html", js(ONE_SCENE, id=meta["id"], frame=5)))
    wait_text(page, "[data-slot=one] h1", "Lost title at 5")

    assert (("GET", f"{proxy.base}/components/00000000deadbeef.js", 404)) in requests
    gets = [u for m, u, _ in requests if m == "GET" and u.startswith(proxy.component_url(meta["id"]))]
    assert len(gets) == 2, requests
    assert gets[0] == proxy.component_url(meta["id"]) and "?r=" in gets[1]  # the retry is a fresh URL
    assert page.locator("[data-scene-error]").count() == 0
    assert not page.errors.uncaught, page.errors.uncaught


def test_a_503_with_retry_after_is_retried_after_that_wait_and_then_renders(
        page: Any, proxy: ProxyClient, view_page: ViewPage) -> None:
    meta = proxy.create_scene(scene("Busy"), "busy")
    seen: list[tuple[float, str, str]] = []

    def busy_once(route: Any) -> None:
        method = route.request.method
        seen.append((time.monotonic(), method, route.request.url))
        if sum(1 for _, m, _ in seen if m == method) == 1:  # the first import and the first probe
            route.fulfill(status=503, body="busy", headers={
                "Retry-After": "1", "Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "Retry-After",
                "Cache-Control": "no-store"})
        else:
            route.continue_()

    page.route(url_re(proxy.component_url(meta["id"])), busy_once)
    page.goto(view_page("/busy.html", js(ONE_SCENE, id=meta["id"], frame=8)))
    wait_text(page, "[data-slot=one] h1", "Busy title at 8")

    gets = [(t, u) for t, m, u in seen if m == "GET"]
    heads = [(t, u) for t, m, u in seen if m == "HEAD"]
    assert len(gets) == 2 and len(heads) == 1, seen
    assert gets[1][0] - heads[0][0] >= 0.9, seen  # waited for Retry-After: 1, not the 125-250 ms back-off
    assert "?r=" in gets[1][1]
    assert not page.errors.uncaught, page.errors.uncaught


@pytest.mark.parametrize("host", HOSTS)
def test_retry_on_the_error_panel_imports_again_from_a_fresh_url(
        page: Any, proxy: ProxyClient, view_page: ViewPage, host: str) -> None:
    meta = proxy.create_scene(scene("Later"), "later")
    down = [True]
    urls: list[str] = []

    def outage(route: Any) -> None:
        urls.append(route.request.url)
        if down[0]:
            route.fulfill(status=503, body="down", headers={"Access-Control-Allow-Origin": "*"})
        else:
            route.continue_()

    page.route(url_re(proxy.component_url(meta["id"])), outage)
    page.goto(view_page("/outage.html", js(ONE_SCENE, id=meta["id"], frame=2), retries=1, host=host))
    panel = page.locator("[data-slot=one] [data-scene-error]")
    panel.wait_for(state="visible", timeout=TIMEOUT)
    text = panel.inner_text()
    assert f"Scene {meta['id']} could not be loaded" in text
    assert "failed to load after 2 attempts" in text and "HTTP 503" in text
    assert page.locator("[data-scene-retry]").inner_text() == "Retry"

    down[0] = False
    before = len(urls)
    page.click("[data-scene-retry]")
    wait_text(page, "[data-slot=one] h1", "Later title at 2")
    assert "?r=" in urls[before], urls[before:]
    assert panel.count() == 0
    assert not page.errors.uncaught, page.errors.uncaught


EDITABLE = """
function View() {
  const [version, setVersion] = React.useState(__VERSION__);
  window.setVersion = setVersion;
  return h('div', { className: 'slot', 'data-slot': 'edit' },
    h(SC.ServerScene, { client, sceneId: __ID__, version, initialFrame: 7 }));
}
window.loadingShown = 0;
new MutationObserver((records) => {
  for (const r of records) for (const n of r.addedNodes) {
    if (n.nodeType === 1 && (n.matches('[data-scene-loading]') || n.querySelector('[data-scene-loading]'))) {
      window.loadingShown += 1;
    }
  }
}).observe(document.body, { childList: true, subtree: true });
root.render(h(View));
"""


@pytest.mark.parametrize("host", HOSTS)
def test_an_edit_reimports_and_the_player_shows_the_new_text_without_a_reload(
        page: Any, proxy: ProxyClient, view_page: ViewPage, host: str) -> None:
    meta = proxy.create_scene(scene("Before"), "edited")
    page.goto(view_page("/edit.html", js(EDITABLE, id=meta["id"], version=meta["compiledHash"]), host=host))
    wait_text(page, "[data-slot=edit] h1", "Before title at 7")
    page.evaluate("() => { window.sameDocument = true; window.loadingShown = 0; }")

    edited = proxy.update_scene(meta["id"], scene("After"))
    assert edited["compiledHash"] != meta["compiledHash"]
    page.evaluate("(v) => window.setVersion(v)", edited["compiledHash"])
    wait_text(page, "[data-slot=edit] h1", "After title at 7")

    assert page.evaluate("window.sameDocument") is True
    assert page.evaluate("window.loadingShown") == 0  # the old version stayed on screen meanwhile
    assert page.evaluate("(id) => client.loadScene(id).then((m) => m === undefined)", meta["id"]) is False
    assert not page.errors.uncaught, page.errors.uncaught


PROJECT_IN_SERIES = """
function Show() {
  const project = SC.useProject(client, __PROJECT__);
  const durations = project.order.map((id) => project.scenes[id].durationInFrames || 30);
  const total = durations.reduce((a, b) => a + b, 0);
  const Whole = React.useCallback(() => h(Remotion.Series, null, project.order.map((id, i) =>
    h(Remotion.Series.Sequence, { key: id, durationInFrames: durations[i] }, h(project.components[id])))), [project]);
  const ref = React.useRef(null);
  React.useEffect(() => { window.player = ref.current; });
  return h(RemotionPlayer.Player, { ref, component: Whole, durationInFrames: total, fps: 30,
    compositionWidth: 1920, compositionHeight: 1080, style: { width: '100%' } });
}
root.render(h('div', { 'data-slot': 'project', style: { width: '640px' } },
  h(SC.SceneBoundary, { label: 'project' }, h(Show))));
"""


@pytest.mark.parametrize("host", HOSTS)
def test_a_ten_scene_project_plays_in_a_series(page: Any, proxy: ProxyClient, view_page: ViewPage, host: str) -> None:
    project = str(uuid.uuid4())
    # the table's duration (what the product's player uses) and the scene's own export agree here
    ids = [proxy.create_scene(scene(f"S{i}", duration=30), f"s{i}", project_id=project, duration=30)["id"]
           for i in range(10)]
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(view_page("/series.html", js(PROJECT_IN_SERIES, project=project), host=host))
    page.wait_for_function("() => window.player && document.querySelector('[data-slot=project] h1')", timeout=TIMEOUT)

    info = page.evaluate("(p) => client.loadProject(p).then((x) => ({ order: x.order, scenes: x.scenes }))", project)
    assert sorted(info["order"]) == sorted(ids)
    assert all(info["scenes"][i]["durationInFrames"] == 30 for i in ids)
    label = {scene_id: f"S{ids.index(scene_id)}" for scene_id in ids}
    for n, scene_id in enumerate(info["order"]):
        page.evaluate("(f) => window.player.seekTo(f)", n * 30 + 4)
        wait_text(page, "[data-slot=project] h1", f"{label[scene_id]} title at 4")
    # one module for the whole project; no scene fetched on its own
    assert requests.count(proxy.project_url(project)) == 1, requests
    assert not [u for u in requests if "/api/components/" in u], requests
    assert not page.errors.uncaught, page.errors.uncaught


def test_a_project_gives_each_scene_its_name_from_the_table(page: Any, proxy: ProxyClient,
                                                           view_page: ViewPage) -> None:
    project = str(uuid.uuid4())
    ids = [proxy.create_scene(scene(f"N{i}"), f"named {i}", project_id=project)["id"] for i in range(2)]
    page.goto(view_page("/names.html", "window.ready = true;"))
    page.wait_for_function("window.ready === true", timeout=TIMEOUT)
    scenes = page.evaluate("(p) => client.loadProject(p).then((x) => x.scenes)", project)
    assert [scenes[i]["name"] for i in ids] == ["named 0", "named 1"]
    assert [scenes[i]["durationInFrames"] for i in ids] == [150, 150]  # the table's default duration
    assert page.evaluate("(p) => client.loadProject(p).then((x) => x.order)", project) == ids

    # a rename is a new module (names are in its hash): the next version shows it
    assert proxy.request("PUT", f"/api/scenes/{ids[1]}", {"tsxCode": scene("N1"), "name": "renamed"},
                         admin=True).status == 200
    renamed = page.evaluate("(p) => client.loadProject(p, { version: 2 }).then((x) => x.scenes)", project)
    assert renamed[ids[1]]["name"] == "renamed"


GALLERY = """
const ids = __IDS__;
for (const id of ids) client.preloadScene(id);  // the gallery starts fetching before it renders
root.render(h(React.Fragment, null,
  [...ids, ids[0]].map((id, i) => h('div', { className: 'slot', key: i, 'data-slot': String(i) },
    h(SC.ServerScene, { client, sceneId: id, initialFrame: 3, controls: false })))));
"""


def test_thirty_scenes_in_a_gallery_load_with_one_request_per_scene(
        page: Any, proxy: ProxyClient, view_page: ViewPage) -> None:
    ids = [proxy.create_scene(scene(f"G{i}"), f"g{i}")["id"] for i in range(30)]
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(view_page("/gallery.html", js(GALLERY, ids=ids)))
    page.wait_for_function("() => document.querySelectorAll('.slot h1').length === 31", timeout=60_000)

    for i in range(30):
        assert visible_text(page, f"[data-slot='{i}'] h1") == f"G{i} title at 3"
    assert visible_text(page, "[data-slot='30'] h1") == "G0 title at 3"  # the same scene twice
    for scene_id in ids:
        assert requests.count(proxy.component_url(scene_id)) == 1, [u for u in requests if scene_id in u]
    artifacts = [u for u in requests if u.startswith(f"{proxy.base}/components/")]
    assert len(artifacts) == len(set(artifacts)) == 30
    assert page.locator("[data-scene-error], [data-scene-loading]").count() == 0
    assert not page.errors.uncaught, page.errors.uncaught


FLAGGED = """
Promise.all([client.isEnabled(__FLAG__, 'user-7'), client.isEnabled(__FLAG__, 'user-7')]).then(([on]) => {
  root.render(on
    ? h('div', { className: 'slot', 'data-slot': 'new' },
      h(SC.ServerScene, { client, sceneId: __ID__, initialFrame: 1 }))
    : h('p', { 'data-old-path': '' }, 'Old in-browser compile path'));
});
"""


def test_a_flag_at_zero_percent_keeps_the_old_path_and_at_full_rollout_takes_the_new_one(
        page: Any, proxy: ProxyClient, view_page: ViewPage) -> None:
    meta = proxy.create_scene(scene("Flagged"), "flagged")
    flag = f"scene-client-{uuid.uuid4().hex[:8]}"
    assert proxy.request("PUT", f"/api/flags/{flag}", {"rolloutPercentage": 0}, admin=True).status == 200
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(view_page("/flag-off.html", js(FLAGGED, flag=flag, id=meta["id"])))
    page.wait_for_selector("[data-old-path]", timeout=TIMEOUT)
    assert visible_text(page, "[data-old-path]") == "Old in-browser compile path"
    assert not [u for u in requests if "/api/components/" in u]
    assert len([u for u in requests if f"/api/flags/{flag}" in u]) == 1  # asked once per client

    assert proxy.request("PUT", f"/api/flags/{flag}", {"rolloutPercentage": 100}, admin=True).status == 200
    page.goto(view_page("/flag-on.html", js(FLAGGED, flag=flag, id=meta["id"])))
    wait_text(page, "[data-slot=new] h1", "Flagged title at 1")
    assert page.locator("[data-old-path]").count() == 0
    assert not page.errors.uncaught, page.errors.uncaught


ONLY_CLIENT_AND_BOUNDARY = """
function Scene({ id }) {
  const Component = SC.useSceneComponent(client, id);
  return h(RemotionPlayer.Player, { component: Component, durationInFrames: 90, fps: 30,
    compositionWidth: 1920, compositionHeight: 1080, initialFrame: 6, style: { width: '100%' } });
}
function Project({ id }) {
  const project = SC.useProject(client, id);
  return h(React.Fragment, null, project.order.map((sceneId) => h(RemotionPlayer.Player, { key: sceneId,
    component: project.components[sceneId], durationInFrames: 90, fps: 30, compositionWidth: 1920,
    compositionHeight: 1080, initialFrame: 6, style: { width: '100%' } })));
}
const slot = (name, child) => h('div', { className: 'slot', 'data-slot': name }, h(SC.SceneBoundary, null, child));
root.render(h(React.Fragment, null,
  slot('good', h(Scene, { id: __GOOD__ })),
  slot('broken', h(Scene, { id: __BROKEN__ })),
  slot('unknown', h(Scene, { id: __UNKNOWN__ })),
  slot('project', h(Project, { id: __PROJECT__ }))));
"""


@pytest.mark.parametrize("host", HOSTS)
def test_a_page_using_only_the_client_and_scene_boundary_never_shows_a_blank_screen(
        page: Any, proxy: ProxyClient, view_page: ViewPage, host: str) -> None:
    good = proxy.create_scene(scene("Good"), "good")
    broken = proxy.create_scene(BROKEN, "broken")
    project = str(uuid.uuid4())
    for label in ("P0", "P1"):
        proxy.create_scene(scene(label), label, project_id=project)
    unknown = str(uuid.uuid4())
    requests: list[str] = []
    page.on("request", lambda r: requests.append(f"{r.method} {r.url}"))
    page.goto(view_page("/all.html", js(ONLY_CLIENT_AND_BOUNDARY, good=good["id"], broken=broken["id"],
                                        unknown=unknown, project=project), host=host))

    wait_text(page, "[data-slot=good] h1", "Good title at 6")
    wait_text(page, "[data-slot=broken] [data-compilation-error] div", "Scene failed to compile")
    page.locator("[data-slot=unknown] [data-scene-error]").wait_for(state="visible", timeout=TIMEOUT)
    wait_text(page, "[data-slot=project] h1", "P1 title at 6")
    assert "P0 title at 6" in visible_text(page, "[data-slot=project]")
    unknown_text = visible_text(page, "[data-slot=unknown]")
    assert f"Scene {unknown} could not be loaded" in unknown_text and "does not exist (HTTP 404)" in unknown_text
    # an unknown id is final: one import and one probe, no retries
    assert len([r for r in requests if unknown in r]) == 2, [r for r in requests if unknown in r]
    for name in ("good", "broken", "unknown", "project"):
        box = page.locator(f"[data-slot={name}]").bounding_box()
        assert box and box["height"] >= 100, name
        assert visible_text(page, f"[data-slot={name}]"), name

    typed = page.evaluate("""async ([unknown]) => {
      const seen = [];
      for (const id of [unknown, 'not-a-uuid']) {
        try { await client.loadScene(id); seen.push('resolved'); }
        catch (e) { seen.push([e.name, e.status, e.retryable]); }
      }
      return seen;
    }""", [unknown])
    assert typed == [["SceneLoadError", 404, False], ["SceneLoadError", 400, False]]
    assert not page.errors.uncaught, page.errors.uncaught


CUSTOM_BOUNDARY = """
function Scene({ id }) {
  const Component = SC.useSceneComponent(client, id);
  return h(RemotionPlayer.Player, { component: Component, durationInFrames: 90, fps: 30,
    compositionWidth: 1920, compositionHeight: 1080, initialFrame: 9, style: { width: '100%' } });
}
window.reported = [];
function View() {
  const [id, setId] = React.useState(__UNKNOWN__);
  window.showScene = setId;
  return h('div', { className: 'slot', 'data-slot': 'custom' }, h(SC.SceneBoundary, {
    resetKeys: [id],
    fallback: h('p', { 'data-custom-loading': '' }, 'Fetching the scene'),
    errorFallback: ({ error, retry }) => h('p', { 'data-custom-error': '', onClick: retry },
      'Custom panel: ' + error.status + ' ' + error.sceneId),
    onError: (error) => window.reported.push([error.name, error.status]),
  }, h(Scene, { id })));
}
root.render(h(View));
"""


@pytest.mark.parametrize("host", HOSTS)
def test_scene_boundary_takes_its_own_fallbacks_reports_errors_and_resets_when_its_keys_change(
        page: Any, proxy: ProxyClient, view_page: ViewPage, host: str) -> None:
    good = proxy.create_scene(scene("Reset"), "reset")
    unknown = str(uuid.uuid4())
    held: list[Any] = []
    pattern = url_re(proxy.component_url(good["id"]))
    page.route(pattern, lambda route: held.append(route))
    page.goto(view_page("/custom.html", js(CUSTOM_BOUNDARY, unknown=unknown), host=host))

    wait_text(page, "[data-custom-error]", f"Custom panel: 404 {unknown}")
    assert page.evaluate("window.reported") == [["SceneLoadError", 404]]
    assert page.locator("[data-scene-error]").count() == 0  # the default panel is not used

    page.evaluate("(id) => window.showScene(id)", good["id"])  # a new key clears the error
    wait_text(page, "[data-custom-loading]", "Fetching the scene")
    for route in held:
        route.continue_()
    page.unroute(pattern)
    wait_text(page, "[data-slot=custom] h1", "Reset title at 9")
    assert page.locator("[data-custom-error]").count() == 0
    assert not page.errors.uncaught, page.errors.uncaught


def test_a_new_version_that_cannot_be_loaded_shows_the_error_after_one_round_of_retries(
        page: Any, proxy: ProxyClient, view_page: ViewPage) -> None:
    meta = proxy.create_scene(scene("Kept"), "kept")
    edited = proxy.update_scene(meta["id"], scene("Unreachable"))
    new_version: list[str] = []

    def refuse_the_new_version(route: Any) -> None:
        if f"v={edited['compiledHash']}" in route.request.url:
            new_version.append(f"{route.request.method} {route.request.url}")
            route.fulfill(status=503, body="down", headers={"Access-Control-Allow-Origin": "*"})
        else:
            route.continue_()

    page.route(url_re(proxy.component_url(meta["id"])), refuse_the_new_version)
    page.goto(view_page("/edit-fails.html", js(EDITABLE, id=meta["id"], version=meta["compiledHash"]), retries=1))
    wait_text(page, "[data-slot=edit] h1", "Unreachable title at 7")  # the current artifact, old version key
    page.evaluate("(v) => window.setVersion(v)", edited["compiledHash"])
    panel = page.locator("[data-slot=edit] [data-scene-error]")
    panel.wait_for(state="visible", timeout=TIMEOUT)
    assert "failed to load after 2 attempts" in panel.inner_text()
    page.wait_for_timeout(1500)  # nothing more is tried behind the panel
    gets = [r for r in new_version if r.startswith("GET ")]
    assert len(gets) == 2, new_version
