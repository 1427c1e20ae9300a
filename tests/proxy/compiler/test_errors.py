"""Errors carry a message, a 1-based position and the offending line; never a tool's stack trace."""

from __future__ import annotations

from typing import Any

import pytest

from core.compiler import CompileError
from proxy.compiler.pool import CompilerPool
from tests.proxy.compiler.conftest import ERRORS, error_manifest

CASES = error_manifest()


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
async def test_error_fixture(case: dict[str, Any], pool: CompilerPool) -> None:
    source = (ERRORS / case["file"]).read_text()
    with pytest.raises(CompileError) as info:
        await pool.compile(source)
    err = info.value
    assert err.kind == case["kind"]
    assert case["message"] in err.message
    assert (err.line, err.column) == (case["line"], case["column"])
    assert err.line_text == source.splitlines()[err.line - 1]
    assert err.describe().startswith(f"{case['line']}:{case['column']}: ")
    for leak in ("    at ", "node_modules", "esbuild", ".mjs", "Error:"):
        assert leak not in err.message


def test_every_error_fixture_is_in_the_manifest() -> None:
    assert {c["file"] for c in CASES} == {p.name for p in ERRORS.glob("*.tsx")}


async def test_error_on_the_last_line_is_not_blamed_on_added_code(pool: CompilerPool) -> None:
    # No default export -> the compiler appends one; the error must still point into the scene.
    with pytest.raises(CompileError) as info:
        await pool.compile("const Scene = () => <div>\n  hello\n")
    assert info.value.kind == "syntax"
    assert info.value.line <= 3


async def test_empty_source(pool: CompilerPool) -> None:
    with pytest.raises(CompileError) as info:
        await pool.compile("")
    assert info.value.kind == "no-default-export"


async def test_lone_surrogate_is_a_clean_error(pool: CompilerPool) -> None:
    with pytest.raises(CompileError) as info:
        await pool.compile("export default () => '\ud800';")
    assert info.value.kind == "syntax"
