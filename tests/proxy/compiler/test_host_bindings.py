"""Host package imports are bound straight to the globals; shapes that cannot be fall back to interop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.compiler import CompileError
from proxy.compiler.pool import CompilerPool
from tests.proxy.compiler.conftest import BARE_IMPORT, make_settings, run_harness

# What esbuild's CommonJS interop leaves in a module; none of it belongs in a host-bound one.
INTEROP = ("__toESM", "__copyProps", "__commonJS", "require_")
# A string holding the sentinel sends any scene down the interop (fallback) path.
FORCE_FALLBACK = '\nexport const viaInterop = "__host__:";\n'

EXTRA_MAP = {"esm-lib": "EsmLib", "plain-lib": "PlainLib", "ghost-lib": "GhostLib"}
EXTRA_GLOBALS = """
globalThis.EsmLib = { __esModule: true, default: function EsmDefault() {}, named: 'esm-named' };
globalThis.PlainLib = Object.assign(function PlainLib() {}, { named: 'plain-named' });
"""


@pytest.fixture
async def mapped_pool() -> AsyncIterator[CompilerPool]:
    p = CompilerPool(make_settings(import_map=EXTRA_MAP))
    await p.start()
    try:
        yield p
    finally:
        await p.close()


async def both_ways(pool: CompilerPool, source: str) -> tuple[bytes, bytes]:
    """The scene compiled host-bound, and the same scene forced through the interop fallback."""
    bound = (await pool.compile(source)).code
    interop = (await pool.compile(source + FORCE_FALLBACK)).code
    assert not [m for m in INTEROP if m.encode() in bound], bound.decode()
    assert b"__toESM" in interop
    for code in (bound, interop):
        assert BARE_IMPORT.search(code.decode()) is None
    return bound, interop


def rendered(modules: dict[str, bytes], tmp_path: Path, setup: str | None = None) -> dict[str, str]:
    results = run_harness(modules, tmp_path, setup=setup)
    failed = {n: r["error"] for n, r in results.items() if not r["ok"]}
    assert not failed, failed
    return {n: r["texts"]["0"] for n, r in results.items()}


async def test_named_default_namespace_aliased_and_bare_imports_bind_to_globals(
        pool: CompilerPool, tmp_path: Path) -> None:
    source = """import React, { useState as useS } from 'react';
import * as Rem from 'remotion';
import { interpolate as lerp, AbsoluteFill } from 'remotion';
import { Rocket } from 'lucide-react';
import 'remotion';
import { loadFont } from '@remotion/google-fonts/Inter';
export default function S() {
  const [v] = useS(lerp(5, [0, 10], [0, 100]));
  const parts = [typeof React.createElement, typeof Rem.AbsoluteFill, v, typeof Rocket, loadFont().fontFamily];
  return <AbsoluteFill>{parts.join(' ')}</AbsoluteFill>;
}
"""
    bound, interop = await both_ways(pool, source)
    text = bound.decode()
    assert "const React = __hostDefault(globalThis.React);" in text
    assert "const { useState: useS } = globalThis.React ?? {};" in text
    assert "const Rem = globalThis.Remotion ?? {};" in text
    assert "const { interpolate: lerp, AbsoluteFill" in text  # esbuild may rename AbsoluteFill (Rem.AbsoluteFill)
    assert 'globalThis.RemotionGoogleFonts["Inter"] ?? {}' in text
    assert text.count("const __hostDefault =") == 1
    assert rendered({"bound": bound, "interop": interop}, tmp_path) == {
        "bound": "function object 50 object Inter", "interop": "function object 50 object Inter"}


async def test_helper_is_only_defined_when_a_default_import_needs_it(pool: CompilerPool) -> None:
    code = (await pool.compile("import { Sequence } from 'remotion';\nexport default () => <Sequence/>;")).code
    assert b"__hostDefault" not in code
    assert b"const { Sequence } = globalThis.Remotion ?? {};" in code


async def test_global_marked_es_module_keeps_default_semantics(mapped_pool: CompilerPool, tmp_path: Path) -> None:
    source = """import D, { named } from 'esm-lib';
import * as NS from 'esm-lib';
import P, { named as plainNamed } from 'plain-lib';
export default () => <p>{[D === globalThis.EsmLib.default, named, NS.default === D,
  P === globalThis.PlainLib, plainNamed].join(' ')}</p>;
"""
    bound, interop = await both_ways(mapped_pool, source)
    expected = "true esm-named true true plain-named"
    assert rendered({"bound": bound, "interop": interop}, tmp_path, setup=EXTRA_GLOBALS) == {
        "bound": expected, "interop": expected}


async def test_missing_global_gives_undefined_bindings_not_an_import_error(
        mapped_pool: CompilerPool, tmp_path: Path) -> None:
    source = """import G, { a } from 'ghost-lib';
import * as NS from 'ghost-lib';
export default () => <p>{[typeof G, typeof a, typeof NS].join(' ')}</p>;
"""
    bound, interop = await both_ways(mapped_pool, source)
    assert rendered({"bound": bound, "interop": interop}, tmp_path) == {
        "bound": "undefined undefined object", "interop": "undefined undefined object"}


FALLBACK_SHAPES = {
    "dynamic import": ("""import { interpolate } from 'remotion';
const later = import('remotion');
export default () => <p>{interpolate(5, [0, 10], [0, 2])} {typeof later.then}</p>;
""", "1 function"),
    "require": ("""const { interpolate } = require('remotion');
export default () => <p>{interpolate(5, [0, 10], [0, 2])}</p>;
""", "1"),
    "export star": ("""export * from 'remotion';
import { interpolate } from 'remotion';
export default () => <p>{interpolate(5, [0, 10], [0, 2])}</p>;
""", "1"),
    "sentinel in a string": ("""import { interpolate } from 'remotion';
export default () => <p>{"__host__:0"} {interpolate(5, [0, 10], [0, 2])}</p>;
""", "__host__:0 1"),
    "scene declares globalThis": ("""import { interpolate } from 'remotion';
var globalThis = { x: 'own' };
export default () => <p>{interpolate(5, [0, 10], [0, 2])} {globalThis.x}</p>;
""", "1 own"),
    "scene declares __hostDefault": ("""import React from 'react';
const __hostDefault = 'mine';
export default () => <p>{__hostDefault} {typeof React.createElement}</p>;
""", "mine function"),
}


@pytest.mark.parametrize("shape", sorted(FALLBACK_SHAPES))
async def test_shapes_the_rewrite_does_not_cover_use_interop_and_still_work(
        shape: str, pool: CompilerPool, tmp_path: Path) -> None:
    source, expected = FALLBACK_SHAPES[shape]
    code = (await pool.compile(source)).code
    assert b"__commonJS" in code
    assert b"__hostDefault(" not in code and b"?? {}" not in code  # all or nothing: no half-rewritten module
    assert BARE_IMPORT.search(code.decode()) is None
    assert rendered({"s": code}, tmp_path) == {"s": expected}


async def test_reexported_host_binding_stays_a_named_export(pool: CompilerPool, tmp_path: Path) -> None:
    # esbuild turns `export { x } from` into an import plus a local export, which the rewrite covers.
    source = """export { interpolate } from 'remotion';
export { default as Rem } from 'remotion';
export default () => <p>ok</p>;
"""
    code = (await pool.compile(source)).code
    assert b"__toESM" not in code
    result = run_harness({"s": code}, tmp_path)["s"]
    assert result["ok"], result["error"]
    assert result["exports"] == ["Rem", "default", "interpolate"]


async def test_adapters_stay_interop_next_to_bound_host_imports(pool: CompilerPool, tmp_path: Path) -> None:
    source = """import { jsx } from 'react/jsx-runtime';
import Iconify, { Icon } from '@iconify/react';
import { AbsoluteFill } from 'remotion';
const label = String(Iconify === Icon) + ' ' + typeof Icon;
export default () => jsx(AbsoluteFill, { children: jsx('p', { children: label }) });
"""
    code = (await pool.compile(source)).code
    text = code.decode()
    assert "__toESM(require_jsx_runtime())" in text and "globalThis.IconifyIcon" in text
    assert "require_remotion" not in text and "const { AbsoluteFill } = globalThis.Remotion ?? {};" in text
    assert rendered({"s": code}, tmp_path) == {"s": "true object"}  # @iconify/react's Icon is a forwardRef


@pytest.mark.parametrize("fallback", [False, True])
async def test_slow_paths_work_with_host_imports_either_way(
        fallback: bool, pool: CompilerPool, tmp_path: Path) -> None:
    # No default export and a repeated globals line: the appended-default and dedupe rebuilds.
    source = """import { interpolate } from 'remotion';
const { AbsoluteFill } = window.Remotion;
const { AbsoluteFill } = window.Remotion;
const Intro = () => <AbsoluteFill>{interpolate(5, [0, 10], [0, 2])} intro</AbsoluteFill>;
"""
    code = (await pool.compile(source + (FORCE_FALLBACK if fallback else ""))).code
    assert (b"__toESM" in code) is fallback
    assert rendered({"s": code}, tmp_path) == {"s": "1 intro"}


async def test_errors_are_reported_against_the_scene_with_host_imports_present(pool: CompilerPool) -> None:
    with pytest.raises(CompileError) as refused:
        await pool.compile("import { interpolate } from 'remotion';\nimport x from './local';\nexport default x;\n")
    assert (refused.value.kind, refused.value.line) == ("import", 2)
    assert "a scene is one file" in refused.value.message
    with pytest.raises(CompileError) as syntax:
        await pool.compile("import { interpolate } from 'remotion';\nexport default () => <p>{interpolate(}</p>;\n")
    assert (syntax.value.kind, syntax.value.line) == ("syntax", 2)


async def test_host_bound_output_is_deterministic(pool: CompilerPool) -> None:
    source = """import { TransitionSeries } from '@remotion/transitions';
import React, { useMemo } from 'react';
import * as Icons from 'lucide-react';
import { interpolate, AbsoluteFill } from 'remotion';
import { loadFont } from '@remotion/google-fonts/Roboto';
export default () => <AbsoluteFill>
  {typeof TransitionSeries}{typeof useMemo}{typeof Icons}{interpolate(1, [0, 1], [0, 1])}{typeof loadFont}
</AbsoluteFill>;
"""
    first = await pool.compile(source)
    other = CompilerPool(make_settings())
    try:
        again = [await other.compile(source) for _ in range(3)]
    finally:
        await other.close()
    assert all(m == first for m in again)
    assert b"__toESM" not in first.code
