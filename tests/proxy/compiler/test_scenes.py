"""Targeted shapes of scene source: each case compiles, and runs the way the author meant."""

from __future__ import annotations

from pathlib import Path

from proxy.compiler.pool import CompilerPool
from tests.proxy.compiler.conftest import BARE_IMPORT, run_harness

SCENE_A = """
const { AbsoluteFill } = window.Remotion;
const Title = ({ text }) => <h1>{text}</h1>;
export default function Scene() { return <AbsoluteFill><Title text="first scene" /></AbsoluteFill>; }
"""
SCENE_B = SCENE_A.replace("first scene", "second scene")


async def test_two_scenes_with_the_same_names_share_a_page(pool: CompilerPool, tmp_path: Path) -> None:
    a, b = await pool.compile(SCENE_A), await pool.compile(SCENE_B)
    results = run_harness({"a": a.code, "b": b.code}, tmp_path)
    assert results["a"]["texts"]["0"] == "first scene"
    assert results["b"]["texts"]["0"] == "second scene"


async def test_jsx_works_without_importing_react(pool: CompilerPool) -> None:
    code = (await pool.compile("export default () => <><b>hi</b></>;")).code.decode()
    assert "React.createElement(React.Fragment" in code


async def test_typescript_is_stripped(pool: CompilerPool, tmp_path: Path) -> None:
    source = """
interface P { n: number }
type Q = P & { label?: string };
enum Mode { A = 'a' }
const f = <T,>(x: T): T => x;
const V = { a: 1 } as const;
export default function S(props: Q): JSX.Element {
  const n = props!.n satisfies number;
  return <p>{f(Mode.A)}{V.a}{n ?? 0}</p>;
}
"""
    code = (await pool.compile(source)).code
    assert b"interface" not in code and b"satisfies" not in code
    assert run_harness({"s": code}, tmp_path)["s"]["texts"]["0"] == "a10"


async def test_array_from_string_does_not_look_like_an_import(pool: CompilerPool, tmp_path: Path) -> None:
    source = "export default () => <p>{Array.from('abc').join('-')}{\"x from 'y'\"}</p>;"
    code = (await pool.compile(source)).code
    assert BARE_IMPORT.search(code.decode()) is None
    assert run_harness({"s": code}, tmp_path)["s"]["texts"]["0"] == "a-b-cx from 'y'"


async def test_identifiers_in_strings_and_jsx_text_are_untouched(pool: CompilerPool, tmp_path: Path) -> None:
    source = """const { AbsoluteFill } = window.Remotion;
const { AbsoluteFill } = window.Remotion;
export default () => <AbsoluteFill>{"const { AbsoluteFill } = window.Remotion;"} AbsoluteFill React</AbsoluteFill>;
"""
    code = (await pool.compile(source)).code
    text = run_harness({"s": code}, tmp_path)["s"]["texts"]["0"]
    assert text == "const { AbsoluteFill } = window.Remotion; AbsoluteFill React"


async def test_default_and_named_iconify_imports_are_the_component(pool: CompilerPool, tmp_path: Path) -> None:
    source = """import Iconify, { Icon } from '@iconify/react';
import * as NS from '@iconify/react';
export default () => <p>{String(Iconify === Icon && NS.Icon === Icon && typeof NS.addIcon === 'function')}</p>;
"""
    code = (await pool.compile(source)).code
    assert run_harness({"s": code}, tmp_path)["s"]["texts"]["0"] == "true"


async def test_no_export_picks_the_last_top_level_component(pool: CompilerPool, tmp_path: Path) -> None:
    source = """
function First() { return <p>first</p>; }
const helperThing = () => 1;
const COLORS = { a: 1 };
const Last = () => <p>last</p>;
const lower = () => <p>lower</p>;
"""
    code = (await pool.compile(source)).code
    assert run_harness({"s": code}, tmp_path)["s"]["texts"]["0"] == "last"


async def test_unused_host_import_is_harmless_and_type_import_is_erased(pool: CompilerPool) -> None:
    source = """import type { ComponentType } from 'not-a-real-package';
import { Easing } from 'remotion';
const C: ComponentType = () => null;
export default function S() { return <p>ok</p>; }
"""
    assert b"not-a-real-package" not in (await pool.compile(source)).code


async def test_no_export_with_repeated_globals_line(pool: CompilerPool, tmp_path: Path) -> None:
    source = """const { AbsoluteFill, useCurrentFrame } = window.Remotion;
const { AbsoluteFill, interpolate } = window.Remotion;
const Intro = () => <AbsoluteFill>{interpolate(useCurrentFrame(), [0, 10], [0, 1])} intro</AbsoluteFill>;
"""
    code = (await pool.compile(source)).code
    assert run_harness({"s": code}, tmp_path)["s"]["texts"]["0"] == "0 intro"


async def test_export_default_only_in_a_string_still_finds_the_component(pool: CompilerPool, tmp_path: Path) -> None:
    source = """const HINT = "export default function Scene() {}";
function Card() { return <p>{HINT.length}</p>; }
"""
    code = (await pool.compile(source)).code
    assert run_harness({"s": code}, tmp_path)["s"]["texts"]["0"] == "34"
