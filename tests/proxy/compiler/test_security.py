"""Compiling never reads the server's files: every import is intercepted, paths and URLs refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.compiler import CompileError
from proxy.compiler.pool import NOWHERE, CompilerPool
from tests.proxy.compiler.conftest import BARE_IMPORT, make_settings

HOSTNAME = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").exists() else ""

HOSTILE = [
    "import x from '/etc/hostname';\nexport default () => <p>{x}</p>;",
    "import x from '../../x';\nexport default () => <p>{x}</p>;",
    "import x from '../../../../../../etc/hostname';\nexport default () => <p>{x}</p>;",
    "import x from 'file:///etc/passwd';\nexport default () => <p>{x}</p>;",
    "import x from 'http://127.0.0.1:9/x.js';\nexport default () => <p>{x}</p>;",
    "import x from '/etc/hostname?raw';\nexport default () => <p>{x}</p>;",
    "export * from '/etc/passwd';\nexport default () => null;",
    "const x = require('/etc/hostname');\nexport default () => <p>{x}</p>;",
    "export default () => { import('/etc/hostname'); return null; };",
    "import x from 'data:text/javascript,export default 1';\nexport default () => x;",
    "import x from 'node:fs';\nexport default () => <p>{String(x)}</p>;",
    "import x from 'remotion/../../etc/hostname';\nexport default () => <p>{x}</p>;",
    "import x from '@remotion/../../etc/hostname';\nexport default () => <p>{x}</p>;",
]


@pytest.mark.parametrize("source", HOSTILE)
async def test_paths_and_urls_are_refused(source: str, pool: CompilerPool) -> None:
    with pytest.raises(CompileError) as info:
        await pool.compile(source)
    assert info.value.kind == "import"
    assert info.value.line >= 1 and info.value.column >= 1
    assert "root:" not in info.value.message
    if HOSTNAME:
        assert HOSTNAME not in info.value.message


async def test_scene_text_mentioning_files_is_just_text(pool: CompilerPool) -> None:
    module = await pool.compile("export default () => <p>{'/etc/passwd'}</p>;")
    assert b"root:" not in module.code


async def test_a_url_in_the_import_map_is_imported_from_that_url() -> None:
    url = "https://cdn.example.com/confetti@1.js"
    pool = CompilerPool(make_settings(import_map={"canvas-confetti": url}))
    try:
        code = (await pool.compile(
            "import confetti from 'canvas-confetti';\nexport default () => <p>{typeof confetti}</p>;")).code
    finally:
        await pool.close()
    assert f'from "{url}"'.encode() in code
    assert BARE_IMPORT.search(code.decode()) is None


def test_esbuild_works_in_a_directory_that_cannot_exist() -> None:
    assert NOWHERE.parent.is_file() and not NOWHERE.exists()


@pytest.mark.parametrize("spec", ["esbuild", "@babel/parser", "react/package.json", "react-dom/server",
                                  "lucide-react/package.json", "./package.json", "package.json"])
async def test_packages_present_on_disk_are_still_refused(spec: str, pool: CompilerPool) -> None:
    # These resolve for Node in this repository; the compiler must never look.
    with pytest.raises(CompileError) as info:
        await pool.compile(f"import s from '{spec}';\nexport default () => <p>{{String(s)}}</p>;")
    assert info.value.kind == "import"
