"""The CompileError codec (core/compiler.py): JSON between processes, text in the scene row."""

from __future__ import annotations

import pytest

from core.compiler import CompileError


@pytest.mark.parametrize("kind", ["syntax", "import", "no-default-export", "too-large", "timeout", "crash"])
def test_an_error_survives_the_trip_through_json(kind: str) -> None:
    error = CompileError("Unexpected token", kind=kind, line=3, column=7, line_text="  return <div")  # type: ignore[arg-type]
    back = CompileError.from_json(error.to_json())
    assert (back.message, back.kind, back.line, back.column, back.line_text) == (
        "Unexpected token", kind, 3, 7, "  return <div")
    assert back.is_source_error == error.is_source_error


def test_an_unknown_kind_is_ours_never_the_scenes() -> None:
    back = CompileError.from_json({"message": "boom", "kind": "martian", "line": "x"})
    assert back.kind == "crash" and not back.is_source_error


def test_what_the_scene_row_stores_reads_back_as_the_same_position_and_message() -> None:
    stored = CompileError("Expected '}'\nbut found end of file", line=12, column=4).describe()
    back = CompileError.from_stored(stored)
    assert (back.message, back.line, back.column) == ("Expected '}'\nbut found end of file", 12, 4)
    assert CompileError.from_stored("no position here").message == "no position here"
