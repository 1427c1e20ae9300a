"""Source maps on both backends: every artifact's map is stored beside it and served like it, valid v3,
named by the module's relative comment (also behind a CDN prefix), and the original-position routes map a
compiled position back to the TSX line, for a scene module and for a project module."""

from __future__ import annotations

import gzip
import json
import uuid
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from aiohttp.test_utils import TestClient

from core.artifact import unseal, unseal_map
from proxy.app import create_app
from proxy.context import CTX
from tests.fixtures_backends import embedded
from tests.proxy.compiler.conftest import validate_map
from tests.proxy.test_scene_flow import create

# A scene that throws while it renders: `data` is undefined. The line and column are read from the text.
THROWER = """import { AbsoluteFill, useCurrentFrame } from 'remotion';

type Props = { data?: { value: string } };

export default function Thrower({ data }: Props) {
  const frame = useCurrentFrame();
  const label: string = `frame ${frame}`;
  return <AbsoluteFill><h1>{label}</h1>{(data as any).value}</AbsoluteFill>;
}
"""
OTHER = THROWER.replace("frame ${frame}", "other ${frame}")


def position_of(text: str, needle: str) -> tuple[int, int]:
    """1-based (line, column) of `needle`'s first character."""
    for number, line in enumerate(text.split("\n"), 1):
        if needle in line:
            return number, line.index(needle) + 1
    raise AssertionError(f"{needle!r} not in the text")




async def test_an_artifacts_map_is_valid_v3_beside_it_and_maps_the_throw_to_its_tsx_line(client: TestClient) -> None:
    scene = await create(client, THROWER)
    h = scene["compiledHash"]
    module = await (await client.get(f"/components/{h}.js")).read()
    assert unseal(module) is not None  # the seal covers the comment
    assert module.decode().splitlines()[-2] == f"//# sourceMappingURL={h}.js.map"
    r = await client.get(f"/components/{h}.js.map", headers={"Accept-Encoding": "identity"})
    assert r.status == 200 and r.headers["Content-Type"].startswith("application/json")
    source_map = await r.read()
    assert unseal_map(source_map) is not None
    parsed = json.loads(source_map)
    assert parsed["sources"] == [f"scene/{h}.tsx"] and parsed["sourcesContent"] == [THROWER]
    report = validate_map(source_map)
    assert report["ok"], report["problems"]
    assert report["segments"] > 5

    line, column = position_of(module.decode(), "data.value")
    tsx_line, tsx_column = position_of(THROWER, "(data as any).value")
    for query in (f"line={line}&column={column}", f"line={line}&column={column}&hash={h}"):
        r = await client.get(f"/api/components/{scene['id']}/original-position?{query}")
        assert r.status == 200, await r.text()
        body = await r.json()
        assert body["source"] == f"scene/{h}.tsx" and body["sceneId"] == scene["id"] and body["hash"] == h
        assert body["line"] == tsx_line
        assert body["column"] == tsx_column + 1  # `data`, inside the parenthesis
    assert "immutable" in r.headers["Cache-Control"]  # pinned by its hash: the answer never changes


async def test_the_map_is_served_exactly_like_its_module(client: TestClient) -> None:
    scene = await create(client, THROWER)
    h = scene["compiledHash"]
    module = await client.get(f"/components/{h}.js", headers={"Origin": "https://app.example.com"})
    served = await client.get(f"/components/{h}.js.map", headers={"Origin": "https://app.example.com"})
    assert served.status == 200
    for name in ("Cache-Control", "Access-Control-Allow-Origin", "Access-Control-Expose-Headers", "Vary",
                 "X-Content-Type-Options"):
        assert served.headers[name] == module.headers[name], name
    etag = served.headers["ETag"]
    assert etag == f'"{h}.map"' and etag != module.headers["ETag"]
    again = await client.get(f"/components/{h}.js.map", headers={"If-None-Match": etag})
    assert again.status == 304 and again.headers["ETag"] == etag and await again.read() == b""
    identity = await (await client.get(f"/components/{h}.js.map", headers={"Accept-Encoding": "identity"})).read()
    r = await client.get(f"/components/{h}.js.map", headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    assert r.headers["Content-Encoding"] == "gzip" and gzip.decompress(await r.read()) == identity
    head = await client.head(f"/components/{h}.js.map")
    assert head.status == 200 and head.headers["ETag"] == etag
    preflight = await client.options(f"/components/{h}.js.map", headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"})
    assert preflight.status == 204 and preflight.headers["Access-Control-Allow-Origin"] in ("*", "https://app.example.com")


async def test_a_map_lost_from_storage_is_rebuilt_from_its_scene_and_an_unowned_one_is_a_404(
        client: TestClient) -> None:
    scene = await create(client, OTHER)
    h = scene["compiledHash"]
    store = client.app[CTX].store
    stored = await store.get(h, "map")
    assert stored is not None
    await store.delete(h, "map")
    assert (await client.get(f"/components/{h}.js")).status == 200  # the module never needs its map
    r = await client.get(f"/components/{h}.js.map")
    assert r.status == 200 and await r.read() == stored  # the same map, compiled again from the scene
    assert await store.get(h, "map") == stored
    r = await client.get(f"/api/components/{scene['id']}/original-position?line=1&column=1")
    assert r.status == 200
    # an artifact no scene owns (never existed): a clear 404, no map invented, nothing compiled
    r = await client.get("/components/0000000000000000.js.map")
    assert r.status == 404 and r.headers["Access-Control-Allow-Origin"] == "*"
    r = await client.get("/api/components/00000000-0000-4000-8000-000000000000/original-position?line=1&column=1")
    assert r.status == 404


async def test_bad_position_queries_are_a_clear_400_and_unmapped_positions_are_nulls(client: TestClient) -> None:
    scene = await create(client, THROWER)
    base = f"/api/components/{scene['id']}/original-position"
    for query, word in (("", "line"), ("line=3", "column"), ("line=0&column=1", "line"), ("line=a&column=1", "line"),
                        ("line=1&column=-1", "column"), ("line=1&column=1&hash=XYZ", "hash")):
        r = await client.get(f"{base}?{query}")
        assert r.status == 400, query
        body = await r.json()
        assert body["error"]["code"] == "invalid_query" and word in body["error"]["message"], query
    assert (await client.get("/api/components/not-a-uuid/original-position?line=1&column=1")).status == 400
    r = await client.get(f"/api/components/{uuid.uuid4()}/original-position?line=1&column=1")
    assert r.status == 404
    # the first line is the compiler's own comment: nothing of the scene is there
    r = await client.get(f"{base}?line=1&column=1")
    assert r.status == 200
    assert await r.json() == {"hash": scene["compiledHash"], "source": None, "line": None, "column": None,
                              "name": None, "sceneId": None}


async def test_a_project_module_has_one_index_map_with_each_scenes_tsx(client: TestClient) -> None:
    project = uuid.uuid4()
    first = await create(client, OTHER, projectId=str(project))
    second = await create(client, THROWER, projectId=str(project))
    r = await client.get(f"/api/projects/{project}/components", headers={"Accept-Encoding": "identity"})
    assert r.status == 200
    module = (await r.read()).decode()
    key = r.headers["X-Artifact-Hash"]
    assert module.splitlines()[-2] == f"//# sourceMappingURL={key}.js.map"
    # relative to the project's URL, and to its immutable copy at Content-Location: the same map
    beside = await client.get(f"/api/projects/{project}/{key}.js.map")
    copy = await client.get(f"/components/{key}.js.map")
    assert beside.status == copy.status == 200 and await beside.read() == await copy.read()
    assert beside.headers["Cache-Control"] == copy.headers["Cache-Control"]
    source_map = await copy.read()
    parsed = json.loads(source_map)
    assert [s["map"]["sources"] for s in parsed["sections"]] == [[f"scene/{first['id']}.tsx"],
                                                                  [f"scene/{second['id']}.tsx"]]
    report = validate_map(source_map)
    assert report["ok"], report["problems"]

    # the second scene's `data.value` (the first scene's text has it too: take the last one)
    lines = module.split("\n")
    line = max(i for i, text in enumerate(lines, 1) if "data.value" in text)
    column = lines[line - 1].index("data.value") + 1
    tsx_line, _ = position_of(THROWER, "(data as any).value")
    r = await client.get(f"/api/projects/{project}/original-position?line={line}&column={column}")
    assert r.status == 200, await r.text()
    body = await r.json()
    assert body["sceneId"] == second["id"] and body["source"] == f"scene/{second['id']}.tsx"
    assert body["line"] == tsx_line
    # the project's glue (its first line) maps to no scene
    r = await client.get(f"/api/projects/{project}/original-position?line=1&column=1")
    assert (await r.json())["source"] is None


async def test_devtools_resolution_through_a_cdn_prefix(aiohttp_client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """What a browser does with the comment: resolve it against the module's URL (RFC 3986, as
    `new URL(comment, scriptUrl)`), then fetch that. Behind a CDN prefix the map must be found under
    the same prefix; the CDN forwards `<prefix>/components/...` to the origin's `/components/...`."""
    prefix = "https://cdn.example.com/assets/v1"
    client = await aiohttp_client(create_app(embedded(tmp_path, public_base_url=prefix)))
    scene = await create(client, THROWER)
    module_url = scene["compiledUrl"]
    assert module_url.startswith(prefix + "/components/")

    def origin_path(url: str) -> str:  # the CDN's rewrite: strip the prefix
        assert url.startswith(prefix), url
        return urlsplit(url).path.removeprefix(urlsplit(prefix).path)

    module = (await (await client.get(origin_path(module_url))).read()).decode()
    comment = next(line for line in module.splitlines() if line.startswith("//# sourceMappingURL="))
    map_url = urljoin(module_url, comment.split("=", 1)[1])
    assert map_url == f"{prefix}/components/{scene['compiledHash']}.js.map"
    r = await client.get(origin_path(map_url))
    assert r.status == 200
    parsed = json.loads(await r.read())
    assert parsed["sourcesContent"] == [THROWER]
