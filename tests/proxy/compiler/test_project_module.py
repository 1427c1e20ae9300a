"""Project modules assembled from real artifacts: every artifact shape the compiler produces is either
inlined in its own scope or loaded by URL, and the assembled module imports and renders in Node."""

from __future__ import annotations

import json
from pathlib import Path

from core.artifact import seal
from core.compiler import CompileError
from proxy.compiler import render_error_module
from proxy.compiler.pool import CompilerPool
from proxy.project_module import ScenePart, assemble, inline_body
from tests.proxy.compiler.conftest import SCENES, make_settings, run_harness

SAME = """import {{ AbsoluteFill }} from 'remotion';
const Title = () => <h1>{label}</h1>;
export let durationInFrames = 30;
export const later = () => {{ durationInFrames = 60; }};
export default function Scene() {{ return <AbsoluteFill><Title /></AbsoluteFill>; }}
"""

# nested past the pretty-printing limit: compiled without whitespace, host imports through interop
DEEP = "import { AbsoluteFill } from 'remotion';\nconst d = " + "[" * 200 + "1" + "]" * 200 + (
    ";\nexport default function Deep() { return <AbsoluteFill>deep {d.flat(Infinity)[0]}</AbsoluteFill>; }\n")

PROBE = """import scenes, { modules } from "./project.mjs";
modules.same.later();
export default function Probe() {
  return JSON.stringify({ ids: Object.keys(scenes), duration: modules.same.durationInFrames,
    broken: modules.broken.compilationError.message, frozen: Object.isFrozen(modules.same) });
}
"""


async def test_every_artifact_shape_is_inlined_in_its_own_scope_and_evaluates(
        pool: CompilerPool, tmp_path: Path) -> None:
    sources = {"same": SAME.format(label="same"), "other": SAME.format(label="other"), "deep": DEEP,
               "fixture": (SCENES / "g22_product_launch_long.tsx").read_text()}
    parts = [ScenePart(name, seal((await pool.compile(code)).code), f"/components/{name}.js")
             for name, code in sources.items()]
    error = render_error_module(CompileError("Unexpected token", line=3, column=7, line_text="<div>"))
    parts.append(ScenePart("broken", error, None))
    for part in parts:
        assert inline_body(part.code) is not None, part.scene_id  # no scene fetched separately
    module = assemble(parts)
    assert b"import(" not in module

    shims = {name: f'import s from "./project.mjs";\nexport default s[{json.dumps(name)}];\n'.encode()
             for name in ("same", "other", "deep", "broken")}
    (tmp_path / "project.mjs").write_bytes(module)
    shims["probe"] = PROBE.encode()
    results = run_harness(shims, tmp_path)
    assert results["same"]["texts"]["0"] == "same" and results["other"]["texts"]["0"] == "other"
    assert results["deep"]["texts"]["0"] == "deep 1"
    assert "Unexpected token" in results["broken"]["texts"]["0"]
    probe = json.loads(results["probe"]["texts"]["0"])
    assert probe["ids"] == ["same", "other", "deep", "fixture", "broken"]
    assert probe["duration"] == 60  # a live binding, as in an ES module namespace
    assert probe["broken"] == "Unexpected token" and probe["frozen"]


async def test_an_artifact_with_a_real_import_is_loaded_by_its_own_url(tmp_path: Path) -> None:
    pool = CompilerPool(make_settings(import_map={"confetti-lib": "https://cdn.example.com/confetti.js"}))
    await pool.start()
    try:
        code = (await pool.compile("import c from 'confetti-lib';\nexport default () => <p>{String(c)}</p>;")).code
    finally:
        await pool.close()
    part = ScenePart("url", seal(code), "/components/0123456789abcdef.js")
    assert inline_body(part.code) is None
    assert b'import("/components/0123456789abcdef.js")' in assemble([part])


def test_a_scene_naming_the_project_modules_own_bindings_is_not_inlined() -> None:
    code = seal(b"const x = __apProject$load;\nexport {\n  x as default\n};\n")
    assert inline_body(code) is None


# Scenes cannot use top-level await (target es2020), but a module loaded by URL can hang the same way.
HANGS = b"await new Promise(() => {});\nconst Never = () => null;\nexport {\n  Never as default\n};\n"

# Patches the globals the project module uses to build its map, then tries to swap another scene in.
PATCHES = """import { AbsoluteFill } from 'remotion';
Object.fromEntries = () => ({ first: () => 'hijacked' });
Object.freeze = (o) => o;
export default function Patcher() { return <AbsoluteFill>patcher</AbsoluteFill>; }
"""


async def test_a_module_that_never_finishes_or_a_scene_that_patches_globals_costs_no_other_scene(
        pool: CompilerPool, tmp_path: Path) -> None:
    parts = [ScenePart(name, seal((await pool.compile(code)).code), None)
             for name, code in (("first", SAME.format(label="first")), ("patches", PATCHES))]
    parts.insert(1, ScenePart("hangs", seal(HANGS), None))
    (tmp_path / "project.mjs").write_bytes(assemble(parts))
    shims = {name: f'import s from "./project.mjs";\nexport default s[{json.dumps(name)}];\n'.encode()
             for name in ("first", "hangs", "patches")}
    results = run_harness(shims, tmp_path)
    assert results["first"]["texts"]["0"] == "first"  # the patch could not redirect the map
    assert "did not finish within" in results["hangs"]["texts"]["0"]
    assert results["patches"]["texts"]["0"] == "patcher"
