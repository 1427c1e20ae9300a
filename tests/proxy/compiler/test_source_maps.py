"""The compiler's source maps: valid v3 for the whole fixture corpus, and true to the TSX through every
rewrite of esbuild's output (host imports bound to globals, the interop fallback, strings that look
like imports escaped, a default export appended, deep nesting printed compact)."""

from __future__ import annotations

import json

import pytest

from cache.tiers import encode
from core.artifact import map_source_name, seal_map
from core.compiler import CompiledModule
from proxy.compiler.pool import CompilerPool
from proxy.compiler.setup import CompilerSetup
from proxy.sourcemaps import PositionMapper
from tests.paths import SCENES
from tests.proxy.compiler.conftest import make_settings, validate_map


def position_of(text: str, needle: str, nth: int = 0) -> tuple[int, int]:
    """1-based (line, column) of the nth occurrence of `needle` (one per line counted)."""
    seen = 0
    for number, line in enumerate(text.split("\n"), 1):
        if needle in line:
            if seen == nth:
                return number, line.index(needle) + 1
            seen += 1
    raise AssertionError(f"{needle!r} not in the text")


async def original(module: CompiledModule, line: int, column: int) -> tuple[int | None, int | None]:
    assert module.map is not None
    found = await PositionMapper().lookup(encode(module.hash, seal_map(module.map), kind="map"), line, column)
    return found.line, found.column


def test_every_fixture_has_a_valid_map_naming_its_tsx(compiled_fixtures: dict[str, CompiledModule]) -> None:
    for name, module in compiled_fixtures.items():
        assert module.map is not None, name
        parsed = json.loads(module.map)
        assert parsed["sources"] == [map_source_name(module.hash)], name
        assert parsed["sourcesContent"] == [(SCENES / f"{name}.tsx").read_text()]
        report = validate_map(module.map)
        assert report["ok"], (name, report["problems"])
        assert report["segments"] > 0, name
        assert module.code.decode().endswith(f"\n//# sourceMappingURL={module.hash}.js.map\n")


# Each scene marks the expression to find with PROBE, whose compiled text is the same as its TSX text.
SHAPES = {
    # named imports bound to globals: esbuild's import lines become `const` lines (another count)
    "host-bound": """import { AbsoluteFill, useCurrentFrame, interpolate } from 'remotion';
import { Circle } from '@remotion/shapes';

export default function S() {
  const frame = useCurrentFrame();
  const o = interpolate(frame, [0, 30], [0, 1]);
  return <AbsoluteFill style={{ opacity: o }}><Circle radius={10} />{PROBE.deep}</AbsoluteFill>;
}
const PROBE: any = undefined;
""",
    # the jsx runtime needs an adapter: the whole scene goes the interop way
    "interop": """import { jsx } from 'react/jsx-runtime';
import * as R from 'remotion';

export default function S() {
  return jsx(R.AbsoluteFill, { children: PROBE.deep });
}
const PROBE: any = undefined;
""",
    # a string that looks like an import gets a backslash: later columns on that line move
    "escaped": """import { AbsoluteFill } from 'remotion';

export default function S() {
  return <AbsoluteFill>{'from "remotion"'}{PROBE.deep}</AbsoluteFill>;
}
const PROBE: any = undefined;
""",
    # no `export default`: the compiler appends one after the last line
    "appended-default": """const { AbsoluteFill } = window.Remotion;

const Scene = () => {
  return <AbsoluteFill>{PROBE.deep}</AbsoluteFill>;
};
const PROBE: any = undefined;
""",
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
async def test_a_compiled_position_maps_back_to_its_tsx_line_and_column(pool: CompilerPool, shape: str) -> None:
    source = SHAPES[shape]
    module = await pool.compile(source)
    line, column = position_of(module.code.decode(), "PROBE.deep")
    assert await original(module, line, column) == position_of(source, "PROBE.deep")
    # the host bindings / helpers before the scene's code map to nothing of it
    first = await PositionMapper().lookup(encode(module.hash, seal_map(module.map or b""), kind="map"), 1, 1)
    assert first.line is None or first.line == 1


async def test_deep_nesting_printed_compact_keeps_its_lines() -> None:
    depth = 200  # past the pretty-printing limit (128): printed without whitespace
    source = ("import { AbsoluteFill } from 'remotion';\nconst data = " + "[" * depth + "1" + "]" * depth
              + ";\nexport default () => <AbsoluteFill>{PROBE.deep}</AbsoluteFill>;\nconst PROBE: any = undefined;\n")
    pool = CompilerPool(make_settings())
    try:
        module = await pool.compile(source)
    finally:
        await pool.close()
    line, column = position_of(module.code.decode(), "PROBE.deep")
    assert (await original(module, line, column))[0] == position_of(source, "PROBE.deep")[0]
    assert validate_map(module.map or b"")["ok"]


async def test_maps_off_gives_the_module_without_comment_and_another_hash() -> None:
    source = SHAPES["host-bound"]
    pool = CompilerPool(make_settings(source_maps=False))
    try:
        plain = await pool.compile(source)
    finally:
        await pool.close()
    assert plain.map is None and b"sourceMappingURL" not in plain.code
    with_maps = CompilerSetup.create(source_maps=True)
    assert plain.hash == CompilerSetup.create(source_maps=False).hash_of(source) != with_maps.hash_of(source)
