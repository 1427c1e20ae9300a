"""GET /api/projects/{projectId}/components on both backends: one module for a project's scenes,
revalidated by its ETag and also stored immutably, each scene exactly what its own URL would serve,
evaluated for real in Node."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from pathlib import Path
from typing import Any

import brotli
from aiohttp import web
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from config import Settings
from proxy.app import create_app
from proxy.context import CTX
from tests.fixtures_backends import AUTH
from tests.proxy.compiler.conftest import run_harness
from tests.proxy.conftest import BROKEN, GOOD
from tests.proxy.test_scene_flow import BARE_IMPORT, create

IMMUTABLE = "max-age=31536000, immutable"
BUNDLE_URL = re.compile(r"/components/([0-9a-f]{16})\.js")

# Two scenes whose top-level names are the same: one scope for both must rename, not share.
SAME_NAMES = """import {{ AbsoluteFill, useCurrentFrame }} from 'remotion';

const LABEL = '{label}';
const ACCENT = '{accent}';

function Title() {{
  const frame = useCurrentFrame();
  return <h1 style={{{{ color: ACCENT }}}}>{{LABEL}} title at {{frame}}</h1>;
}}

export const durationInFrames = 90;

export default function Scene() {{
  return <AbsoluteFill><Title /></AbsoluteFill>;
}}
"""

# Renders what the bundle's shape is, as JSON text, from inside Node (after the real import).
SHAPE_PROBE = """import scenes, { modules } from "./bundle.mjs";
export default function Shape() {
  const ids = Object.keys(scenes);
  return JSON.stringify({
    ids,
    moduleIds: Object.keys(modules),
    frozen: Object.isFrozen(scenes) && Object.isFrozen(modules),
    same: ids.every((id) => modules[id].default === scenes[id]),
    errors: ids.filter((id) => "compilationError" in modules[id]),
    durations: Object.fromEntries(ids.map((id) => [id, modules[id].durationInFrames ?? null])),
  });
}
"""


def titled(text: str) -> str:
    return GOOD.replace("hello bar", text)


async def project_scenes(client: TestClient, project: uuid.UUID, *codes: str) -> list[dict[str, Any]]:
    return [await create(client, code, projectId=str(project)) for code in codes]


async def project_get(client: TestClient, project: uuid.UUID | str, method: str = "GET",
                      **headers: str) -> web.Response:
    r = await client.request(method, f"/api/projects/{project}/components", allow_redirects=False,
                             headers={"Accept-Encoding": "identity", **headers})
    await r.read()
    return r  # type: ignore[return-value]


async def bundle_etag(client: TestClient, project: uuid.UUID) -> str:
    r = await project_get(client, project)
    assert r.status == 200, await r.text()
    return r.headers["ETag"]


def module_path(project: uuid.UUID | str) -> str:
    return f"/api/projects/{project}/components"


async def evaluate(client: TestClient, location: str, directory: Path, ids: list[str],
                   frames: tuple[int, ...] = (0,)) -> tuple[dict[str, Any], dict[str, Any]]:
    """Import the served bundle in Node (fake-but-real React/Remotion globals, one process, as a page
    would) and render the entries `ids` of its default map through one-line re-exports.
    Returns ({sceneId: harness result}, the bundle's shape as SHAPE_PROBE reports it)."""
    r = await client.get(location, headers={"Accept-Encoding": "identity"})
    assert r.status == 200
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "bundle.mjs").write_bytes(await r.read())
    shims = {f"scene-{sid}": f'import scenes from "./bundle.mjs";\nexport default scenes[{json.dumps(sid)}];\n'.encode()
             for sid in ids}
    shims["shape"] = SHAPE_PROBE.encode()
    results = run_harness(shims, directory, frames)
    for name, result in results.items():
        assert result["ok"], (name, result["error"])
    shape = json.loads(results.pop("shape")["texts"][str(frames[0])])
    return {name.removeprefix("scene-"): result for name, result in results.items()}, shape


async def metric(client: TestClient, name: str, **labels: str) -> float:
    text = await (await client.get("/metrics")).text()
    return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
               if s.name == name and labels.items() <= s.labels.items())


async def test_a_project_is_one_module_revalidated_by_its_etag_and_stored_immutably(client: TestClient) -> None:
    project = uuid.uuid4()
    await project_scenes(client, project, titled("one"), titled("two"), titled("three"))
    await create(client, titled("elsewhere"), projectId=str(uuid.uuid4()))

    r = await project_get(client, project, Origin="https://app.example.com")
    body = await r.read()

    assert r.status == 200
    assert r.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert r.headers["Cache-Control"] == "no-cache"
    assert "Accept-Encoding" in r.headers["Vary"]
    assert r.headers["X-Scene-Count"] == "3"
    assert "X-Compilation-Errors" not in r.headers
    hash = r.headers["X-Artifact-Hash"]
    assert re.fullmatch(r"[0-9a-f]{16}", hash) and r.headers["ETag"] == f'"{hash}"'
    assert r.headers["Content-Location"].endswith(f"/components/{hash}.js")
    assert r.headers["Access-Control-Allow-Origin"] in ("*", "https://app.example.com")
    exposed = r.headers["Access-Control-Expose-Headers"]
    assert all(h in exposed for h in ("ETag", "Content-Location", "X-Scene-Count", "X-Compilation-Errors"))
    assert not re.search(BARE_IMPORT, body)
    # the same bytes are stored content-addressed and served immutable, like any artifact
    immutable = await client.get(r.headers["Content-Location"], headers={"Accept-Encoding": "identity"})
    assert immutable.status == 200 and await immutable.read() == body
    assert immutable.headers["Cache-Control"] == IMMUTABLE and immutable.headers["ETag"] == r.headers["ETag"]

    again = await project_get(client, project, **{"If-None-Match": r.headers["ETag"]})
    assert again.status == 304 and await again.read() == b""
    assert again.headers["ETag"] == r.headers["ETag"] and again.headers["Cache-Control"] == "no-cache"
    stale = await project_get(client, project, **{"If-None-Match": '"0000000000000000"'})
    assert stale.status == 200 and await stale.read() == body
    head = await project_get(client, project, method="HEAD")
    assert head.status == 200 and head.headers["ETag"] == r.headers["ETag"] and await head.read() == b""


async def test_the_module_is_served_compressed_as_negotiated(client: TestClient) -> None:
    project = uuid.uuid4()
    await project_scenes(client, project, titled("squeezed one"), titled("squeezed two"))
    plain = await (await project_get(client, project)).read()

    gz = await project_get(client, project, **{"Accept-Encoding": "gzip"})
    assert gz.headers["Content-Encoding"] == "gzip" and await gz.read() == plain  # aiohttp decodes it
    tiers = client.app[CTX].tiers
    for _ in range(200):  # the first br request schedules the brotli pass; gzip is served meanwhile
        br = await client.get(module_path(project), headers={"Accept-Encoding": "br, gzip"}, auto_decompress=False)
        raw = await br.read()
        if br.headers["Content-Encoding"] == "br":
            break
        assert br.headers["Content-Encoding"] == "gzip"
        await asyncio.sleep(0.02)
    assert br.headers["Content-Encoding"] == "br"
    assert brotli.decompress(raw) == plain
    assert tiers.peek(br.headers["X-Artifact-Hash"]).br == raw  # type: ignore[union-attr]


async def test_every_scene_of_the_bundle_renders_its_own_text(client: TestClient, tmp_path: Path) -> None:
    project = uuid.uuid4()
    scenes = await project_scenes(client, project, titled("first scene"), titled("second scene"),
                                  titled("third scene"))
    other = await create(client, titled("other project"), projectId=str(uuid.uuid4()))
    unowned = await create(client, titled("no project"))

    rendered, shape = await evaluate(client, module_path(project), tmp_path,
                                     [s["id"] for s in scenes], frames=(0, 15))

    ids = [s["id"] for s in scenes]
    assert shape["ids"] == shape["moduleIds"] == ids  # in the product's order (each new one last), no others
    assert other["id"] not in shape["ids"] and unowned["id"] not in shape["ids"]
    assert shape["frozen"] and shape["same"] and shape["errors"] == []
    for scene, label in zip(scenes, ["first scene", "second scene", "third scene"], strict=True):
        assert rendered[scene["id"]]["texts"] == {"0": label, "15": label}


async def test_the_etag_is_stable_until_an_edit_and_old_modules_stay_served(
        client: TestClient, tmp_path: Path) -> None:
    project = uuid.uuid4()
    a, b = await project_scenes(client, project, titled("alpha v1"), titled("beta v1"))
    first = await project_get(client, project)
    hits = await metric(client, "artifact_proxy_project_bundles_total", outcome="hit")
    assert await bundle_etag(client, project) == first.headers["ETag"]
    assert await metric(client, "artifact_proxy_project_bundles_total", outcome="hit") == hits + 1

    r = await client.put(f"/api/scenes/{b['id']}", json={"tsxCode": titled("beta v2")}, headers=AUTH)
    assert r.status == 200 and (await r.json())["status"] == "ready"
    # a browser revalidating its copy gets the new module, not a 304
    second = await project_get(client, project, **{"If-None-Match": first.headers["ETag"]})

    assert second.status == 200 and second.headers["ETag"] != first.headers["ETag"]
    rendered, _ = await evaluate(client, module_path(project), tmp_path / "new", [a["id"], b["id"]])
    assert rendered[a["id"]]["texts"]["0"] == "alpha v1" and rendered[b["id"]]["texts"]["0"] == "beta v2"
    old = await client.get(first.headers["Content-Location"])
    assert old.status == 200 and old.headers["Cache-Control"] == IMMUTABLE
    rendered, _ = await evaluate(client, first.headers["Content-Location"], tmp_path / "old", [b["id"]])
    assert rendered[b["id"]]["texts"]["0"] == "beta v1"


async def test_a_failed_edit_keeps_the_scenes_last_good_component_and_reports_the_error(
        client: TestClient, tmp_path: Path) -> None:
    project = uuid.uuid4()
    a, b = await project_scenes(client, project, titled("steady"), titled("good before the edit"))
    before = await project_get(client, project)

    r = await client.put(f"/api/scenes/{b['id']}", json={"tsxCode": BROKEN}, headers=AUTH)
    assert r.status == 200 and (await r.json())["status"] == "error"
    after = await project_get(client, project)

    assert after.status == 200
    assert after.headers["X-Compilation-Errors"] == "1"
    assert after.headers["X-Scene-Count"] == "2"
    # the bundle's content is unchanged (same artifacts): a browser's copy stays valid
    assert after.headers["ETag"] == before.headers["ETag"]
    rendered, shape = await evaluate(client, module_path(project), tmp_path, [a["id"], b["id"]])
    assert rendered[a["id"]]["texts"]["0"] == "steady"
    assert rendered[b["id"]]["texts"]["0"] == "good before the edit"
    assert shape["errors"] == []


async def test_a_scene_broken_from_the_start_renders_its_error_module_inside_the_bundle(
        client: TestClient, tmp_path: Path) -> None:
    project = uuid.uuid4()
    good, broken = await project_scenes(client, project, titled("still fine"), BROKEN)
    assert broken["status"] == "error" and broken["compiledHash"] is None

    r = await project_get(client, project)

    assert r.status == 200 and r.headers["X-Compilation-Errors"] == "1"
    rendered, shape = await evaluate(client, module_path(project), tmp_path, [good["id"], broken["id"]])
    assert rendered[good["id"]]["texts"]["0"] == "still fine"
    error_text = rendered[broken["id"]]["texts"]["0"]
    assert error_text.startswith("Scene failed to compile") and "line 1" in error_text
    assert shape["errors"] == [broken["id"]]
    # fixing it moves the bundle to one without any error
    await client.put(f"/api/scenes/{broken['id']}", json={"tsxCode": titled("fixed")}, headers=AUTH)
    fixed = await project_get(client, project)
    assert fixed.headers["ETag"] != r.headers["ETag"] and "X-Compilation-Errors" not in fixed.headers
    rendered, _ = await evaluate(client, module_path(project), tmp_path / "fixed", [broken["id"]])
    assert rendered[broken["id"]]["texts"]["0"] == "fixed"


async def test_scenes_inserted_without_compiling_are_compiled_by_the_project_request(
        client: TestClient, tmp_path: Path) -> None:
    project = uuid.uuid4()
    repo = client.app[CTX].repo
    ids = [uuid.uuid4() for _ in range(3)]
    for n, sid in enumerate(ids):  # as the product writes them: no compile, no artifact
        await repo.create(sid, titled(f"raw {n} {sid.hex[:8]}"), f"raw {n}", project)
    assert [(await (await client.get(f"/api/components/{sid}/metadata")).json())["status"] for sid in ids] == \
        ["pending"] * 3

    r = await project_get(client, project)

    assert r.status == 200 and r.headers["X-Scene-Count"] == "3" and "X-Compilation-Errors" not in r.headers
    for sid in ids:
        meta = await (await client.get(f"/api/components/{sid}/metadata")).json()
        assert meta["status"] == "ready", meta  # recorded, like a miss on the scene's own route
    rendered, _ = await evaluate(client, module_path(project), tmp_path, [str(sid) for sid in ids])
    for n, sid in enumerate(ids):
        assert rendered[str(sid)]["texts"]["0"] == f"raw {n} {sid.hex[:8]}"


async def test_scenes_declaring_the_same_top_level_names_keep_their_own_bindings(
        client: TestClient, tmp_path: Path) -> None:
    project = uuid.uuid4()
    alpha, beta = await project_scenes(client, project, SAME_NAMES.format(label="Alpha", accent="#f472b6"),
                                       SAME_NAMES.format(label="Beta", accent="#34d399"))

    rendered, shape = await evaluate(client, module_path(project), tmp_path,
                                     [alpha["id"], beta["id"]], frames=(12, 34))

    assert rendered[alpha["id"]]["texts"] == {"12": "Alpha title at 12", "34": "Alpha title at 34"}
    assert rendered[beta["id"]]["texts"] == {"12": "Beta title at 12", "34": "Beta title at 34"}
    assert shape["durations"] == {alpha["id"]: 90, beta["id"]: 90}  # named exports kept per scene


async def test_concurrent_requests_for_a_fresh_project_compile_each_scene_and_build_the_bundle_once(
        client: TestClient) -> None:
    project = uuid.uuid4()
    repo = client.app[CTX].repo
    built = await metric(client, "artifact_proxy_project_bundles_total", outcome="built")
    compiles = await metric(client, "artifact_proxy_compiles_total", outcome="ok")
    for n in range(3):  # on PostgreSQL each insert also NOTIFYs: a background compile joins the race
        await repo.create(uuid.uuid4(), titled(f"concurrent {n} {uuid.uuid4().hex}"), None, project)

    answers = await asyncio.gather(*(project_get(client, project) for _ in range(12)))

    assert {r.status for r in answers} == {200}
    assert len({r.headers["ETag"] for r in answers}) == 1
    assert await metric(client, "artifact_proxy_project_bundles_total", outcome="built") == built + 1
    assert await metric(client, "artifact_proxy_compiles_total", outcome="ok") == compiles + 3
    assert (await client.get(answers[0].headers["Content-Location"])).status == 200


async def test_a_lost_artifact_of_a_current_scene_is_rebuilt_into_the_bundle(
        client: TestClient, aiohttp_client: Any, backend_settings: Settings, tmp_path: Path) -> None:
    project, label = uuid.uuid4(), f"lost {uuid.uuid4().hex}"
    kept, lost = await project_scenes(client, project, titled("kept"), titled(label))
    await client.app[CTX].store.delete(lost["compiledHash"])
    fresh: TestClient = await aiohttp_client(create_app(backend_settings))  # a node whose caches are cold

    r = await project_get(fresh, project)

    assert r.status == 200 and "X-Compilation-Errors" not in r.headers
    rendered, _ = await evaluate(fresh, module_path(project), tmp_path, [kept["id"], lost["id"]])
    assert rendered[kept["id"]]["texts"]["0"] == "kept" and rendered[lost["id"]]["texts"]["0"] == label
    assert await client.app[CTX].store.exists(lost["compiledHash"])


async def test_a_lost_last_good_artifact_that_cannot_be_rebuilt_is_503_not_a_bundle_with_a_hole(
        client: TestClient, aiohttp_client: Any, backend_settings: Settings) -> None:
    project = uuid.uuid4()
    _, edited = await project_scenes(client, project, titled("fine"), titled(f"last good {uuid.uuid4().hex}"))
    await client.put(f"/api/scenes/{edited['id']}", json={"tsxCode": BROKEN}, headers=AUTH)
    # the row keeps the last good hash, but not that hash's code: nothing can rebuild it
    await client.app[CTX].store.delete(edited["compiledHash"])
    fresh: TestClient = await aiohttp_client(create_app(backend_settings))
    built = await metric(fresh, "artifact_proxy_project_bundles_total", outcome="built")

    r = await fresh.get(f"/api/projects/{project}/components", allow_redirects=False)

    assert r.status == 503 and r.headers["Retry-After"]
    assert (await r.json())["error"]["code"] == "dependency_unavailable"
    assert "ETag" not in r.headers and "Content-Location" not in r.headers
    assert await metric(fresh, "artifact_proxy_project_bundles_total", outcome="built") == built


async def test_an_unknown_project_is_404_and_a_malformed_id_is_400(client: TestClient) -> None:
    scene = await create(client, titled("owned"), projectId=str(uuid.uuid4()))
    cases = {str(uuid.uuid4()): (404, "not_found"),
             scene["id"]: (404, "not_found"),  # a scene id is not a project id
             "not-a-uuid": (400, "invalid_id"),
             f"{uuid.uuid4()}0": (400, "invalid_id"),
             f"urn:uuid:{uuid.uuid4()}": (400, "invalid_id"),
             "x" * 5000: (400, "invalid_id")}
    for project, (status, code) in cases.items():
        r = await client.get(f"/api/projects/{project}/components", allow_redirects=False)
        body = await r.json()
        assert (r.status, body["error"]["code"]) == (status, code), project[:60]
        assert "ETag" not in r.headers and "Content-Location" not in r.headers


async def test_a_project_id_in_any_case_finds_the_same_bundle(client: TestClient) -> None:
    project = uuid.uuid4()
    await project_scenes(client, project, titled("case"))
    lower = await bundle_etag(client, project)
    upper = await project_get(client, str(project).upper())
    assert upper.status == 200 and upper.headers["ETag"] == lower


async def test_a_project_over_the_scene_limit_is_refused_with_422(
        aiohttp_client: Any, backend_settings: Settings) -> None:
    client: TestClient = await aiohttp_client(
        create_app(backend_settings.model_copy(update={"project_max_scenes": 2})))
    project = uuid.uuid4()
    await project_scenes(client, project, titled("a"), titled("b"))
    r = await project_get(client, project)
    assert r.status == 200 and r.headers["X-Scene-Count"] == "2"

    await create(client, titled("c"), projectId=str(project))
    r = await client.get(f"/api/projects/{project}/components", allow_redirects=False)

    assert r.status == 422
    assert (await r.json())["error"]["code"] == "too_many_scenes"
    assert "ETag" not in r.headers and "Content-Location" not in r.headers


async def test_no_project_request_ever_answers_500(client: TestClient) -> None:
    project = uuid.uuid4()
    await project_scenes(client, project, titled("ok"), BROKEN)
    paths = [f"/api/projects/{project}/components", f"/api/projects/{str(project).upper()}/components",
             f"/api/projects/{project.hex}/components", f"/api/projects/{uuid.uuid4()}/components",
             "/api/projects/%00/components", "/api/projects/%E2%82%AC/components",
             "/api/projects/%7B" + str(project) + "%7D/components", "/api/projects//components",
             "/api/projects/" + "9" * 36 + "/components", f"/api/projects/{project}/components/extra",
             f"/api/projects/{project}/components?x=1"]
    for path in paths:
        for method in ("GET", "HEAD", "POST", "OPTIONS"):
            r = await client.request(method, path, allow_redirects=False,
                                     headers={"Origin": "https://a.example", "Access-Control-Request-Method": "GET"})
            await r.read()
            assert r.status < 500, (method, path, r.status)


async def test_a_scene_edited_while_the_project_compiles_it_is_a_retry_not_a_frozen_error(
        client: TestClient, tmp_path: Path) -> None:
    project, sid = uuid.uuid4(), uuid.uuid4()
    repo = client.app[CTX].repo
    await repo.create(sid, titled("before the edit"), "raced", project)
    record = repo.record_compilation
    edited = False

    async def edit_then_record(scene_id: uuid.UUID, code: str, outcome: Any) -> bool:
        nonlocal edited
        if not edited:  # an editor saves between our compile and its compare-and-set
            edited = True
            await repo.update_code(scene_id, titled("after the edit"))
        return await record(scene_id, code, outcome)

    repo.record_compilation = edit_then_record  # type: ignore[method-assign]
    built = await metric(client, "artifact_proxy_project_bundles_total", outcome="built")

    r = await project_get(client, project)
    assert r.status == 503 and r.headers["Retry-After"], await r.text()
    assert await metric(client, "artifact_proxy_project_bundles_total", outcome="built") == built

    rendered, _ = await evaluate(client, module_path(project), tmp_path, [str(sid)])  # the retry compiles it
    assert rendered[str(sid)]["texts"]["0"] == "after the edit"


async def test_a_repeat_view_reads_no_database_until_a_scene_of_the_project_is_written(
        client: TestClient) -> None:
    project = uuid.uuid4()
    (scene,) = await project_scenes(client, project, titled("cached one"))
    repo = client.app[CTX].repo
    listed = 0
    project_heads = repo.project_heads

    async def counted(*args: Any) -> Any:
        nonlocal listed
        listed += 1
        return await project_heads(*args)

    repo.project_heads = counted  # type: ignore[method-assign]

    async def settled() -> web.Response:
        """The answer after a write, once the database's own notice of it (PostgreSQL's trigger,
        which may drop the module once more) has arrived: from then on, repeat views read nothing."""
        await asyncio.sleep(0.3)
        answer = await project_get(client, project)
        reads = listed
        for _ in range(5):
            assert (await project_get(client, project)).headers["ETag"] == answer.headers["ETag"]
        assert listed == reads
        return answer

    first = (await settled()).headers["ETag"]  # repeat views read nothing (settled() checks five)
    assert 1 <= listed <= 2  # the first view, and perhaps once more for the create's own notice

    before = listed
    await client.put(f"/api/scenes/{scene['id']}", json={"tsxCode": titled("cached two")}, headers=AUTH)
    edited = await project_get(client, project)
    assert edited.headers["ETag"] != first and listed > before
    assert (await settled()).headers["ETag"] == edited.headers["ETag"]
    before = listed
    await create(client, titled("joined later"), projectId=str(project))
    joined = await project_get(client, project)
    assert joined.headers["X-Scene-Count"] == "2" and listed > before
    joined = await settled()
    reads = listed
    other = uuid.uuid4()  # a write to another project leaves this one cached
    await create(client, titled("elsewhere"), projectId=str(other))
    await asyncio.sleep(0.3)
    assert (await project_get(client, project)).headers["ETag"] == joined.headers["ETag"] and listed == reads
    hits = await metric(client, "artifact_proxy_cache_lookups_total", tier="l1", kind="project", result="hit")
    assert hits >= 6


async def test_rows_written_behind_the_proxys_back_show_within_the_mapping_ttl(
        aiohttp_client: Any, backend_settings: Settings) -> None:
    client: TestClient = await aiohttp_client(
        create_app(backend_settings.model_copy(update={"mapping_ttl_seconds": 0.3})))
    project = uuid.uuid4()
    await project_scenes(client, project, titled("through the api"))
    assert (await project_get(client, project)).headers["X-Scene-Count"] == "1"
    # the product inserts a scene itself: no write through the proxy, so nothing invalidates
    await client.app[CTX].repo.create(uuid.uuid4(), titled(f"direct {uuid.uuid4().hex}"), "direct", project)

    await asyncio.sleep(0.4)
    r = await project_get(client, project)

    assert r.status == 200 and r.headers["X-Scene-Count"] == "2"


async def test_with_an_origin_allow_list_the_module_varies_on_origin_as_well_as_encoding(
        aiohttp_client: Any, backend_settings: Settings) -> None:
    client: TestClient = await aiohttp_client(
        create_app(backend_settings.model_copy(update={"cors_origins": "https://app.example.com"})))
    project = uuid.uuid4()
    await project_scenes(client, project, titled("listed origin"))

    allowed = await project_get(client, project, Origin="https://app.example.com")
    other = await project_get(client, project, Origin="https://elsewhere.example")

    assert allowed.status == other.status == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "Access-Control-Allow-Origin" not in other.headers
    # a shared cache must not hand one origin's answer (with its CORS header) to another
    for r in (allowed, other):
        assert {v.strip() for v in r.headers["Vary"].split(",")} >= {"Accept-Encoding", "Origin"}, r.headers["Vary"]


def count_calls(repo: Any, *names: str) -> dict[str, int]:
    """Wrap the repository's methods to count the reads a request makes (the real ones still run)."""
    calls = dict.fromkeys(names, 0)
    for name in names:
        real = getattr(repo, name)

        async def counted(*args: Any, _name: str = name, _real: Any = real) -> Any:
            calls[_name] += 1
            return await _real(*args)

        setattr(repo, name, counted)
    return calls


async def test_an_unknown_project_is_refused_once_then_from_cache_until_a_scene_joins_it(
        client: TestClient) -> None:
    project = uuid.uuid4()
    calls = count_calls(client.app[CTX].repo, "count_project", "project_heads")
    for _ in range(5):
        assert (await project_get(client, project)).status == 404
    assert calls == {"count_project": 1, "project_heads": 0}  # counted once; no source was read

    await create(client, titled("the first scene"), projectId=str(project))  # a write voids the refusal
    assert (await project_get(client, project)).status == 200


async def test_a_project_over_the_scene_limit_is_refused_before_any_source_is_read(
        aiohttp_client: Any, backend_settings: Settings) -> None:
    client: TestClient = await aiohttp_client(create_app(backend_settings.model_copy(
        update={"project_max_scenes": 2})))
    project = uuid.uuid4()
    await project_scenes(client, project, titled("one"), titled("two"), titled("three"))
    calls = count_calls(client.app[CTX].repo, "count_project", "project_heads")

    answers = await asyncio.gather(*(project_get(client, project) for _ in range(10)))

    assert {r.status for r in answers} == {422}
    assert calls == {"count_project": 1, "project_heads": 0}  # ten concurrent misses, one count, no sources


async def test_concurrent_misses_for_one_project_read_the_database_once(client: TestClient) -> None:
    project = uuid.uuid4()
    await project_scenes(client, project, titled("flight one"), titled("flight two"))
    client.app[CTX].projects.cache.clear()  # a cold process
    calls = count_calls(client.app[CTX].repo, "count_project", "project_heads")

    answers = await asyncio.gather(*(project_get(client, project) for _ in range(20)))

    assert {r.status for r in answers} == {200} and len({r.headers["ETag"] for r in answers}) == 1
    assert calls == {"count_project": 1, "project_heads": 1}


SOURCE_READS = ("get", "list_project", "list_after", "find_code_by_hash")  # every read that returns code


async def test_a_warm_project_miss_reads_hashes_not_sources_and_an_edit_reads_only_that_scene(
        client: TestClient, tmp_path: Path) -> None:
    project = uuid.uuid4()
    scenes = await project_scenes(client, project, titled("warm one"), titled("warm two"), titled("warm three"))
    first = await project_get(client, project)
    await asyncio.sleep(0.3)  # the creates' own notices (PostgreSQL's trigger) have arrived
    ctx = client.app[CTX]
    ctx.projects.cache.clear()  # a miss in a process whose scenes are compiled (another node, a restart)
    ctx.service.mappings.clear()
    calls = count_calls(ctx.repo, "count_project", "project_heads", *SOURCE_READS)

    again = await project_get(client, project)

    assert again.status == 200 and again.headers["ETag"] == first.headers["ETag"]
    assert calls == {"count_project": 1, "project_heads": 1, **dict.fromkeys(SOURCE_READS, 0)}

    # an edit written behind the proxy's back (no invalidation here): the next miss finds that one
    # scene stale by its hash, reads that scene's source alone, and serves a new module
    edited = uuid.UUID(scenes[1]["id"])
    assert await ctx.repo.update_code(edited, titled("warm two, edited")) is not None
    ctx.projects.cache.clear()
    calls.update(dict.fromkeys(calls, 0))
    got: list[uuid.UUID] = []
    counted_get = ctx.repo.get

    async def get(scene_id: uuid.UUID) -> Any:
        got.append(scene_id)
        return await counted_get(scene_id)

    ctx.repo.get = get

    after = await project_get(client, project)

    assert after.status == 200 and after.headers["ETag"] != first.headers["ETag"]
    assert calls["project_heads"] == 1 and calls["list_project"] == 0
    # the edited scene's row (to compile it, then its recorded outcome), and no other scene's
    assert got and set(got) == {edited}
    rendered, _ = await evaluate(client, module_path(project), tmp_path, [str(edited)])
    assert rendered[str(edited)]["texts"]["0"] == "warm two, edited"
