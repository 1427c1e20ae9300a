"""The module served in place of a scene that does not compile."""

from __future__ import annotations

import json
from pathlib import Path

from core.compiler import CompileError
from proxy.compiler.error_module import render_error_module
from tests.proxy.compiler.conftest import BARE_IMPORT, run_harness

HOSTILE = 'Unexpected "</script><script>alert(1)</script>" \\"; globalThis.pwned = 1; //\u2028 & \'quote\''


def test_error_module_is_deterministic_and_imports_nothing() -> None:
    err = CompileError("Unexpected token", line=3, column=7, line_text="  const x = ;")
    code = render_error_module(err)
    assert code == render_error_module(CompileError("Unexpected token", line=3, column=7, line_text="  const x = ;"))
    text = code.decode()
    assert "import " not in text and BARE_IMPORT.search(text) is None
    assert code.isascii()


def test_error_text_cannot_break_out(tmp_path: Path) -> None:
    err = CompileError(HOSTILE, kind="syntax", line=2, column=5, line_text="</script>" + HOSTILE)
    code = render_error_module(err)
    assert b"</script" not in code and b"<script" not in code and b"\xe2\x80\xa8" not in code
    result = run_harness({"e": code}, tmp_path)["e"]
    assert result["ok"], result["error"]
    assert "Scene failed to compile" in result["texts"]["0"]
    assert "line 2, column 5" in result["texts"]["0"]
    assert "pwned" in result["texts"]["0"]  # shown as text, not run


def test_compilation_error_export(tmp_path: Path) -> None:
    err = CompileError(HOSTILE, line=9, column=1)
    probe = render_error_module(err) + b"\nexport const probe = () => JSON.stringify(compilationError);\n"
    path = tmp_path / "e.mjs"
    path.write_bytes(probe)
    import subprocess

    out = subprocess.run(
        ["node", "--input-type=module", "-e",
         f"const m = await import({json.dumps(path.as_uri())}); console.log(m.probe());"
         " if (globalThis.pwned) process.exit(9);"],
        capture_output=True, check=True, text=True)
    assert json.loads(out.stdout) == {"message": HOSTILE, "line": 9, "column": 1}
