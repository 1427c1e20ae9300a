"""The scene corpus: every style compiles, leaves no bare import, imports and renders in Node."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.compiler import CompiledModule
from tests.proxy.compiler.conftest import BARE_IMPORT, good_scenes, run_harness

GOOD = [p.stem for p in good_scenes()]


def test_corpus_is_large_and_varied() -> None:
    assert len(GOOD) >= 40
    prefixes = {name[0] for name in GOOD}
    assert {"m", "g", "x"} <= prefixes  # module style, globals style, mixed


@pytest.mark.parametrize("name", GOOD)
def test_fixture_output_is_a_clean_module(name: str, compiled_fixtures: dict[str, CompiledModule]) -> None:
    code = compiled_fixtures[name].code.decode()
    assert BARE_IMPORT.search(code) is None, BARE_IMPORT.search(code)
    assert "export {" in code and " as default" in code
    assert "require(" not in code.replace("__require(", "")  # esbuild's own wrapper excepted


def test_every_fixture_imports_and_renders(compiled_fixtures: dict[str, CompiledModule], tmp_path: Path) -> None:
    results = run_harness({n: m.code for n, m in compiled_fixtures.items()}, tmp_path, frames=(0, 45, 100))
    failed = {n: r["error"] for n, r in results.items() if not r["ok"]}
    assert not failed, failed
    for name, result in results.items():
        assert result["defaultType"] == "function", name
        assert any(text for text in result["texts"].values()), f"{name} rendered no visible text"


def test_named_exports_survive(compiled_fixtures: dict[str, CompiledModule], tmp_path: Path) -> None:
    wanted = {"m15_named_exports", "g10_duration_export", "m03_sequences"}
    results = run_harness({n: compiled_fixtures[n].code for n in wanted}, tmp_path)
    assert {"default", "durationInFrames_ab12", "clamp01", "Headline"} <= set(results["m15_named_exports"]["exports"])
    assert "durationInFrames_ab12" in results["g10_duration_export"]["exports"]
    assert "durationInFrames_7f3a" in results["m03_sequences"]["exports"]


def test_code_in_strings_stays_text(compiled_fixtures: dict[str, CompiledModule], tmp_path: Path) -> None:
    # These strings trip the bare-import check unless escaped; escaping must not change what is shown.
    results = run_harness({"s": compiled_fixtures["m17_code_strings"].code}, tmp_path, frames=(200,))
    text = results["s"]["texts"]["200"]
    for line in ("import { useState } from 'react';", 'import confetti from "canvas-confetti";',
                 "const lib = await import('lodash');", "export const Animation: React.FC = () => {",
                 'Write less code. import from "react" and go.'):
        assert line in text
