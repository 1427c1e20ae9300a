"""Host packages bind to globals through a configurable map; everything else is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.compiler import CompileError
from proxy.compiler.pool import CompilerPool
from proxy.compiler.setup import DEFAULT_IMPORT_MAP, CompilerSetup, CompilerSetupError, merge_import_map
from tests.proxy.compiler.conftest import make_settings, run_harness

EXPECTED_GLOBALS = {
    "react": "React",
    "react-dom": "ReactDOM",
    "react-dom/client": "ReactDOM",
    "remotion": "Remotion",
    "@remotion/shapes": "RemotionShapes",
    "@remotion/google-fonts": "RemotionGoogleFonts",
    "@remotion/google-fonts/Inter": "RemotionGoogleFonts[\"Inter\"]",
    "@remotion/player": "RemotionPlayer",
    "@remotion/transitions": "RemotionTransitions",
    "@remotion/transitions/fade": "RemotionTransitions",
    "@remotion/paths": "RemotionPaths",
    "lucide-react": "LucideIcons",
    "@heroicons/react/24/solid": "HeroiconsSolid",
    "@heroicons/react/20/solid": "HeroiconsSolid",
    "@heroicons/react/24/outline": "HeroiconsOutline",
    "@iconify/react": "IconifyIcon",
}


@pytest.mark.parametrize(("specifier", "global_name"), sorted(EXPECTED_GLOBALS.items()))
async def test_default_bindings(specifier: str, global_name: str, pool: CompilerPool) -> None:
    code = (await pool.compile(f"import * as M from '{specifier}';\nexport default () => <p>{{typeof M}}</p>;")).code
    assert f"globalThis.{global_name}".encode() in code


async def test_default_named_namespace_and_aliased_imports_run(pool: CompilerPool, tmp_path: Path) -> None:
    source = """import R, { useState as useS } from 'react';
import * as Rem from 'remotion';
import { interpolate as lerp } from 'remotion';
import { createRoot } from 'react-dom/client';
export default function S() {
  const [v] = useS(lerp(5, [0, 10], [0, 100]));
  return <p>{[typeof R.createElement, typeof Rem.AbsoluteFill, v, typeof createRoot].join(' ')}</p>;
}
"""
    code = (await pool.compile(source)).code
    assert run_harness({"s": code}, tmp_path)["s"]["texts"]["0"] == "function object 50 function"


def test_settings_entries_merge_over_defaults() -> None:
    merged = merge_import_map({"canvas-confetti": "Confetti", "lucide-react": "https://cdn.example.com/lucide.js",
                               "@remotion/player": ""})
    assert merged["canvas-confetti"] == "Confetti"
    assert merged["lucide-react"] == "https://cdn.example.com/lucide.js"
    assert "@remotion/player" not in merged
    assert merged["remotion"] == DEFAULT_IMPORT_MAP["remotion"]


@pytest.mark.parametrize("bad", [{"x": "not a global"}, {"x": "1abc"}, {"bad spec": "X"}, {"x": "window['a']"}])
def test_invalid_entries_are_rejected_with_a_readable_message(bad: dict[str, str]) -> None:
    with pytest.raises(CompilerSetupError, match="import_map"):
        CompilerSetup.create(bad)


async def test_settings_map_is_used_by_the_pool(tmp_path: Path) -> None:
    pool = CompilerPool(make_settings(import_map={"canvas-confetti": "Remotion.random", "remotion": ""}))
    try:
        code = (await pool.compile("import c from 'canvas-confetti';\nexport default () => <p>{typeof c}</p>;")).code
        assert b"globalThis.Remotion.random" in code
        with pytest.raises(CompileError) as info:
            await pool.compile("import { Sequence } from 'remotion';\nexport default () => <Sequence/>;")
        assert info.value.kind == "import" and '"remotion"' in info.value.message
    finally:
        await pool.close()
    assert run_harness({"s": code}, tmp_path)["s"]["texts"]["0"] == "function"
