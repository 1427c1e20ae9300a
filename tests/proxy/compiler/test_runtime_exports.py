"""A scene may only take names the host runtime really exports (build/runtime/globals.json)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.compiler import CompileError
from proxy.compiler.pool import CompilerPool
from proxy.compiler.setup import RUNTIME_EXPORTS, CompilerSetup, CompilerSetupError
from tests.proxy.compiler.conftest import ROOT


async def compile_error(pool: CompilerPool, source: str) -> CompileError:
    with pytest.raises(CompileError) as info:
        await pool.compile(source)
    return info.value


def manifest() -> dict[str, object]:
    return json.loads((ROOT / RUNTIME_EXPORTS).read_text())


def test_the_manifest_lists_the_real_packages_at_the_product_versions() -> None:
    doc = manifest()
    packages, names = doc["packages"], doc["globals"]
    assert packages["Remotion"] == "remotion@4.0.320"
    assert packages["RemotionPlayer"] == "@remotion/player@4.0.320"
    assert packages["LucideIcons"] == "lucide-react@0.503.0"
    assert packages["React"].startswith("react@19.")
    assert {"spring", "interpolate", "Audio", "Video", "Sequence", "delayRender"} <= set(names["Remotion"])
    assert "TransitionSeries" not in names["Remotion"]  # the real `remotion` has none
    assert {"TransitionSeries", "fade", "slide", "wipe", "flip", "iris", "clockWipe"} <= set(
        names["RemotionTransitions"])
    assert {"loadFont", "getInfo", "fontFamily"} == set(names['RemotionGoogleFonts["Inter"]'])


async def test_importing_a_name_remotion_lacks_is_an_error_naming_it(pool: CompilerPool) -> None:
    err = await compile_error(pool, "import { AbsoluteFill, flipflop } from 'remotion';\n"
                                    "export default () => <AbsoluteFill />;\n")
    assert err.kind == "import"
    assert '"flipflop"' in err.message and "remotion@4.0.320" in err.message
    assert (err.line, err.column) == (1, 24)
    assert err.line_text == "import { AbsoluteFill, flipflop } from 'remotion';"


async def test_every_bound_package_is_checked(pool: CompilerPool) -> None:
    cases = {
        "import { Nonexistent } from 'lucide-react';": (1, 10),
        "import { useState, useFlipflop } from 'react';": (1, 20),
        "import { Circle, Hexagon } from '@remotion/shapes';": (1, 18),
        "import { noise2D } from '@remotion/paths';": (1, 10),
        "import { Player, Recorder } from '@remotion/player';": (1, 18),
        "import { fade, spin } from '@remotion/transitions/fade';": (1, 16),
        "import { loadFont, unloadFont } from '@remotion/google-fonts/Roboto';": (1, 20),
        "import { HomeIcon, BogusIcon } from '@heroicons/react/24/outline';": (1, 20),
    }
    for line, position in cases.items():
        err = await compile_error(pool, f"{line}\nexport default () => <p />;\n")
        assert (err.kind, err.line, err.column) == ("import", *position), line


async def test_a_font_family_the_runtime_lacks_is_an_error(pool: CompilerPool) -> None:
    err = await compile_error(pool, "\nimport { loadFont } from '@remotion/google-fonts/NotAFamily';\n"
                                    "export default () => <p />;\n")
    assert "@remotion/google-fonts/NotAFamily" in err.message
    assert (err.line, err.column) == (2, 26)


async def test_destructuring_a_global_is_checked_where_it_is_certain(pool: CompilerPool) -> None:
    err = await compile_error(pool, "const { AbsoluteFill,\n  flipflop } = window.Remotion;\n"
                                    "export default () => <AbsoluteFill />;\n")
    assert '"flipflop"' in err.message and (err.line, err.column) == (2, 3)
    err = await compile_error(pool, "export default function S() {\n"
                                    "  const { Circle, Blob: B } = globalThis.RemotionShapes;\n"
                                    "  return <Circle />;\n}\n")
    assert '"Blob"' in err.message and (err.line, err.column) == (2, 19)
    err = await compile_error(pool, "const { loadFont } = window.RemotionGoogleFonts.NotAFamily;\n"
                                    "export default () => <p />;\n")
    assert '"NotAFamily"' in err.message and (err.line, err.column) == (1, 49)


async def test_what_cannot_be_decided_is_left_alone(pool: CompilerPool) -> None:
    for source in (
        # a default value: the scene expects the name may be missing
        "const { flipflop = null, AbsoluteFill } = window.Remotion;\nexport default () => <AbsoluteFill />;",
        # a computed key, a rest element, the window object itself
        "const k = 'x';\nconst { [k]: v, ...rest } = window.Remotion;\nconst { IconifyIcon } = window;\n"
        "export default () => <p>{String(v)}{typeof rest}{typeof IconifyIcon}</p>;",
        # a local object that happens to be called like a global
        "const Remotion = { flipflop: 1 };\nconst { flipflop } = Remotion;\nexport default () => <p>{flipflop}</p>;",
        # type-only imports never reach the runtime
        "import type { FlipFlop } from 'remotion';\nconst x: FlipFlop | null = null;\n"
        "export default () => <p>{String(x)}</p>;",
        # named exports that exist, string-named ones included
        "import { \"interpolate\" as lerp, Audio, Video } from 'remotion';\n"
        "export default () => <p>{lerp(1, [0, 2], [0, 1])}{typeof Audio}{typeof Video}</p>;",
    ):
        await pool.compile(source)


async def test_shapes_a_text_scan_could_misread_are_still_caught(pool: CompilerPool) -> None:
    # The check scans the text first and parses only what the scan cannot clear: none of these may
    # slip through (each one's missing name is `flipflop`).
    shapes = {
        "import Remotion, { flipflop } from 'remotion';\nexport default () => <p>{typeof flipflop}</p>;": (1, 20),
        "import {\n  AbsoluteFill, // the fill\n  flipflop,\n} from 'remotion';\n"
        "export default () => <AbsoluteFill />;": (3, 3),
        "const {\n  AbsoluteFill,\n  flipflop,\n} = window.Remotion;\nexport default () => <AbsoluteFill />;": (3, 3),
        "const { flipflop }: any = window.Remotion;\nexport default () => <p>{String(flipflop)}</p>;": (1, 9),
        "const { flipflop } = (window as any).Remotion;\nexport default () => <p>{String(flipflop)}</p>;": (1, 9),
        "const { flipflop } = globalThis?.Remotion;\nexport default () => <p>{String(flipflop)}</p>;": (1, 9),
        "const s = 'import x from \"y\"';\nconst { flipflop } = Remotion;\nexport default () => <p>{s}</p>;": (2, 9),
    }
    for source, position in shapes.items():
        err = await compile_error(pool, source)
        assert ('"flipflop"' in err.message, (err.line, err.column)) == (True, position), source


async def test_syntax_errors_are_reported_before_missing_names(pool: CompilerPool) -> None:
    err = await compile_error(pool, "import { flipflop } from 'remotion';\nexport default () => <p>{flipflop(}</p>;\n")
    assert (err.kind, err.line) == ("syntax", 2)


def test_the_manifest_feeds_the_hash(tmp_path: Path) -> None:
    source = "import { AbsoluteFill } from 'remotion';\nexport default () => <AbsoluteFill />;\n"
    before = CompilerSetup.create()
    root = tmp_path / "repo"
    (root / "proxy").mkdir(parents=True)
    shutil.copy(ROOT / "package.json", root / "package.json")
    (root / "node_modules").symlink_to(ROOT / "node_modules")
    (root / RUNTIME_EXPORTS).parent.mkdir(parents=True)
    doc = manifest()
    (root / RUNTIME_EXPORTS).write_text(json.dumps(doc))
    same_names = CompilerSetup.create(root=root)
    doc["packages"]["Remotion"] = "remotion@4.0.321"  # a runtime upgrade
    (root / RUNTIME_EXPORTS).write_text(json.dumps(doc))
    upgraded = CompilerSetup.create(root=root)
    assert same_names.hash_of(source) != upgraded.hash_of(source)
    assert before.hash_of(source) != upgraded.hash_of(source)
    (root / RUNTIME_EXPORTS).unlink()
    with pytest.raises(CompilerSetupError, match="make install"):
        CompilerSetup.create(root=root)
