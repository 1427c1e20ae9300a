"""`artifact-proxy compile FILE|-`."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import pytest

from proxy.compiler.cli_compile import run
from tests.proxy.compiler.conftest import ERRORS, SCENES, make_settings


def test_compiles_a_file_to_stdout(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert run(str(SCENES / "g01_window_remotion.tsx"), make_settings()) == 0
    out, err = capsysbinary.readouterr()
    assert b"as default" in out and err == b""


def test_map_is_written_beside_when_asked(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    scene = SCENES / "g01_window_remotion.tsx"
    assert run(str(scene), make_settings(), str(tmp_path / "scene.js.map")) == 0
    out, _ = capsysbinary.readouterr()
    name = out.decode().rstrip("\n").rsplit("\n", 1)[-1].removeprefix("//# sourceMappingURL=")
    written = json.loads((tmp_path / "scene.js.map").read_bytes())
    assert re.fullmatch(r"[0-9a-f]{16}\.js\.map", name)
    assert written["sources"] == [f"scene/{name.removesuffix('.js.map')}.tsx"]
    assert written["sourcesContent"] == [scene.read_text()]


def test_error_goes_to_stderr_as_file_line_col(capsys: pytest.CaptureFixture[str]) -> None:
    path = ERRORS / "unknown_package.tsx"
    assert run(str(path), make_settings()) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f'{path}:2:15: Cannot import "lodash"')


def test_reads_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"const x = ;\nexport default () => null;\n")))
    assert run("-", make_settings()) == 1
    assert capsys.readouterr().err.startswith("<stdin>:1:11: ")


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(str(tmp_path / "nope.tsx"), make_settings()) == 1
    assert "nope.tsx" in capsys.readouterr().err
