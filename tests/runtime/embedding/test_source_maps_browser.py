"""Runtime errors in real Chromium reported at their TSX line: /preview's panel, and a host app on another
origin that imports a scene module and a project module and asks the scene client where its errors are.
Chromium itself reads each module's `//# sourceMappingURL=` (what DevTools then fetches)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.fixtures_browser import StaticServer
from tests.fixtures_browser_server import ProxyClient
from tests.runtime.embedding.conftest import origin_of, wait_ready

pytestmark = pytest.mark.browser

# Renders, then reads a property of undefined on a known line (read from the text below, never typed).
THROWER = """import { AbsoluteFill, useCurrentFrame } from 'remotion';

type Props = { data?: { value: string } };

export default function Thrower({ data }: Props) {
  const frame = useCurrentFrame();
  const label: string = `frame ${frame}`;
  return <AbsoluteFill><h1>{label}</h1><p>{(data as any).value}</p></AbsoluteFill>;
}
"""

# Throws before any hook, so a plain page can call it without React rendering it.
PLAIN_THROWER = """import { AbsoluteFill } from 'remotion';

export default function Plain({ data }: { data?: { value: string } }) {
  const title = 'plain %s';
  const value = (data as any).value;
  return <AbsoluteFill>{title}{value}</AbsoluteFill>;
}
"""


def tsx_line_of(text: str, needle: str) -> int:
    return next(number for number, line in enumerate(text.split("\n"), 1) if needle in line)


def test_preview_shows_a_runtime_error_at_its_tsx_line(page: Any, proxy: ProxyClient) -> None:
    meta = proxy.create_scene(THROWER, "thrower")
    assert meta["status"] == "ready"
    page.goto(proxy.preview_url(meta["id"], frame=3))
    assert wait_ready(page) == "error"
    # the panel shows the error at once, then its TSX position once the proxy has mapped the frame
    page.wait_for_selector("[data-preview-error] [data-error-line]", timeout=10_000)
    line = int(page.locator("[data-error-line]").inner_text())
    column = int(page.locator("[data-error-column]").inner_text())
    message = page.locator("[data-error-message]").inner_text()
    expected = tsx_line_of(THROWER, "(data as any).value")
    assert line == expected
    code_line = THROWER.split("\n")[expected - 1]
    assert code_line.index("(data as any)") < column <= len(code_line)
    assert message == f"Scene.tsx:{line}:{column}: Cannot read properties of undefined (reading 'value')"
    assert not page.errors.uncaught, page.errors.uncaught


HOST = """<!doctype html><html><head><meta charset="utf-8"><title>errors</title></head><body>
<script type="module">
const PROXY = %(proxy)s, SCENE = %(scene)s, PROJECT = %(project)s, PICK = %(pick)s;
const { createSceneClient } = await import(`${PROXY}/runtime/scene-client.js`);
const client = createSceneClient({ baseUrl: PROXY });
async function where(load, pick, ids) {
  const mod = await import(load);
  try {
    (pick ? mod.default[pick] : mod.default)({});
    return { thrown: false };
  } catch (error) {
    return { message: error.message, stack: error.stack, at: await client.locateError(error, ids) };
  }
}
try {
  document.body.dataset.result = JSON.stringify({
    scene: await where(`${PROXY}/api/components/${SCENE}`, null, { sceneId: SCENE }),
    project: await where(`${PROXY}/api/projects/${PROJECT}/components`, PICK, { projectId: PROJECT }),
  });
} catch (error) {
  document.body.dataset.result = JSON.stringify({ failed: String(error && error.stack || error) });
}
</script></body></html>
"""


def test_a_host_page_locates_errors_of_a_scene_module_and_of_a_project_module(
        page: Any, proxy: ProxyClient, host_site: StaticServer) -> None:
    project = str(uuid.uuid4())
    alone = proxy.create_scene(PLAIN_THROWER % "alone", "alone")
    first = proxy.create_scene(PLAIN_THROWER % "first", "first", project_id=project)
    second = proxy.create_scene(PLAIN_THROWER % "second", "second", project_id=project)
    assert alone["status"] == first["status"] == second["status"] == "ready"

    # what DevTools sees: every module's sourceMappingURL, as Chromium parsed it
    cdp = page.context.new_cdp_session(page)
    scripts: dict[str, str] = {}
    cdp.on("Debugger.scriptParsed", lambda e: scripts.__setitem__(e["url"], e.get("sourceMapURL", "")))
    cdp.send("Debugger.enable")

    url = host_site.add_html("/locate-errors.html", HOST % {
        "proxy": json.dumps(proxy.base), "scene": json.dumps(alone["id"]), "project": json.dumps(project),
        "pick": json.dumps(second["id"])})
    assert origin_of(url) != proxy.base
    page.goto(url)
    page.wait_for_function("document.body.dataset.result !== undefined", timeout=15_000)
    result = json.loads(page.evaluate("document.body.dataset.result"))
    assert "failed" not in result, result

    expected = tsx_line_of(PLAIN_THROWER, "(data as any).value")
    scene = result["scene"]
    assert scene["message"] == "Cannot read properties of undefined (reading 'value')"
    assert f"/components/{alone['compiledHash']}.js:" in scene["stack"]  # the frame Chromium reported
    assert scene["at"]["line"] == expected and scene["at"]["sceneId"] == alone["id"]
    assert scene["at"]["source"] == f"scene/{alone['compiledHash']}.tsx"

    hit = result["project"]
    assert hit["at"]["line"] == expected
    assert hit["at"]["sceneId"] == second["id"] and hit["at"]["source"] == f"scene/{second['id']}.tsx"

    module_url = f"{proxy.base}/components/{alone['compiledHash']}.js"
    assert scripts.get(module_url) == f"{alone['compiledHash']}.js.map"
    project_url = proxy.project_url(project)
    project_hash = proxy.request("GET", f"/api/projects/{project}/components").headers["x-artifact-hash"]
    assert scripts.get(project_url) == f"{project_hash}.js.map"
    # and where DevTools resolves it (relative to the project's URL) the map is served
    beside = proxy.request("GET", f"/api/projects/{project}/{project_hash}.js.map")
    assert beside.status == 200 and json.loads(beside.body)["x_sceneIds"] == [first["id"], second["id"]]
    assert not page.errors.uncaught, page.errors.uncaught
