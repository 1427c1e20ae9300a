"""Scenes of one project module are isolated from each other: real server, the module imported in Node."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.fixtures.hostile import CLASSES
from tests.fixtures_faults import AUTH
from tests.proxy.compiler.conftest import run_harness

pytestmark = pytest.mark.reliability

KB = 1024

NAMED = """import {{ AbsoluteFill }} from 'remotion';
const Title = () => <h1>{label}</h1>;
export const durationInFrames = 60;
export default function Scene() {{ return <AbsoluteFill><Title /></AbsoluteFill>; }}
"""

THROWS = """import { AbsoluteFill } from 'remotion';
throw new Error("boom at evaluation");
export default function Thrower() { return <AbsoluteFill>never</AbsoluteFill>; }
"""

# Reaches for another scene's top-level name through direct eval, at evaluation and at render time.
EVAL = """import { AbsoluteFill } from 'remotion';
try { eval("Title = () => 'pwned'"); } catch {}
let seen = 'isolated';
try { seen = typeof eval("Title") === 'function' ? 'leaked' : 'isolated'; } catch {}
export default function Evil() { return <AbsoluteFill>{seen}</AbsoluteFill>; }
"""

PROBE = """import scenes, { modules } from "./project.mjs";
export default function Probe() {
  return JSON.stringify(Object.fromEntries(Object.keys(modules).map((id) => [id, {
    error: modules[id].compilationError ? modules[id].compilationError.message : null,
    duration: modules[id].durationInFrames ?? null,
    isDefault: scenes[id] === modules[id].default,
  }])));
}
"""


async def create(http: aiohttp.ClientSession, base: str, code: str, project: str) -> str:
    async with http.post(f"{base}/api/scenes", json={"tsxCode": code, "projectId": project}, headers=AUTH) as r:
        assert r.status == 201, await r.text()
        return str((await r.json())["id"])


def evaluate(code: bytes, ids: list[str], directory: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "project.mjs").write_bytes(code)
    shim = 'import scenes from "./project.mjs";\nexport default scenes[%s];\n'
    shims = {f"scene-{sid}": (shim % json.dumps(sid)).encode() for sid in ids}
    shims["probe"] = PROBE.encode()
    results = run_harness(shims, directory)
    probe = json.loads(results.pop("probe")["texts"]["0"])
    return {name.removeprefix("scene-"): r for name, r in results.items()}, probe


async def test_a_throwing_scene_an_eval_scene_and_a_timed_out_scene_leave_the_others_working(
        spawn_server, tmp_path: Path, http: aiohttp.ClientSession) -> None:  # type: ignore[no-untyped-def]
    server = spawn_server(database_url=f"sqlite:///{tmp_path}/proxy.sqlite3",
                          storage_url=f"file://{tmp_path}/artifacts", compile_timeout_seconds="0.3",
                          failure_backoff_seconds="60")
    project = str(uuid.uuid4())
    first = await create(http, server.base, NAMED.format(label="first"), project)
    thrower = await create(http, server.base, THROWS, project)
    evil = await create(http, server.base, EVAL, project)
    second = await create(http, server.base, NAMED.format(label="second"), project)
    slow = await create(http, server.base, CLASSES["deep-references"](500 * KB), project)  # times out
    await asyncio.sleep(2.0)  # its worker is replaced

    async with http.get(f"{server.base}/api/projects/{project}/components") as r:
        assert r.status == 200, await r.text()
        code = await r.read()
    assert b"boom at evaluation" in code and b"Title" in code  # inlined, not fetched one by one

    rendered, probe = evaluate(code, [first, second, evil, thrower, slow], tmp_path / "project")
    assert rendered[first]["ok"] and rendered[first]["texts"]["0"] == "first", rendered[first]
    assert rendered[second]["ok"] and rendered[second]["texts"]["0"] == "second", rendered[second]
    assert probe[first]["duration"] == 60 and probe[first]["error"] is None and probe[first]["isDefault"]
    assert "boom at evaluation" in probe[thrower]["error"], probe[thrower]
    assert rendered[thrower]["ok"] and "boom at evaluation" in rendered[thrower]["texts"]["0"]
    assert rendered[evil]["ok"] and rendered[evil]["texts"]["0"] == "isolated", rendered[evil]
    assert "timed out" in probe[slow]["error"], probe[slow]  # its error module; the project answered


async def test_a_project_module_over_its_byte_limit_is_refused_before_any_cache(
        spawn_server, tmp_path: Path, http: aiohttp.ClientSession) -> None:  # type: ignore[no-untyped-def]
    server = spawn_server(database_url=f"sqlite:///{tmp_path}/proxy.sqlite3",
                          storage_url=f"file://{tmp_path}/artifacts", project_max_bytes="4096")
    project = str(uuid.uuid4())
    for n in range(3):
        await create(http, server.base, NAMED.format(label=f"scene {n} " + "x" * 1500), project)
    async with http.get(f"{server.base}/api/projects/{project}/components") as r:
        body = await r.json()
    assert r.status == 422 and "import its scenes one by one" in body["error"]["message"], body
