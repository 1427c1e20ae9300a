"""Same inputs, same bytes and hash; any output-changing input moves the hash."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from proxy.compiler.pool import CompilerPool
from proxy.compiler.setup import JS_DIR, CompilerSetup, script_digest
from tests.proxy.compiler.conftest import SCENES, make_settings

SOURCES = [SCENES.joinpath(n).read_text() for n in (
    "g22_product_launch_long.tsx", "m13_typescript_heavy.tsx", "g02_destructure_twice.tsx",
    "g09_no_export_arrow_fc.tsx", "m17_code_strings.tsx")]


async def test_compile_twice_and_across_pools_is_byte_identical(pool: CompilerPool) -> None:
    first = [await pool.compile(s) for s in SOURCES]
    again = [await pool.compile(s) for s in SOURCES]
    other = CompilerPool(make_settings())  # its own workers and working directory
    try:
        third = [await other.compile(s) for s in SOURCES]
    finally:
        await other.close()
    assert first == again == third
    assert [m.hash for m in first] == [pool.hash_of(s) for s in SOURCES]
    assert len({m.hash for m in first}) == len(SOURCES)


def test_hash_of_needs_no_worker() -> None:
    pool = CompilerPool(make_settings())
    h = pool.hash_of("export default () => null;")
    assert re.fullmatch(r"[0-9a-f]{16}", h)
    assert h == CompilerPool(make_settings()).hash_of("export default () => null;")
    assert h != pool.hash_of("export default () => null; ")


def test_fingerprint_names_the_tools() -> None:
    setup = CompilerSetup.create()
    assert f"esbuild@{setup.esbuild_version}" in setup.fingerprint
    assert f"worker@{script_digest()}" in setup.fingerprint


def test_import_map_and_options_change_the_hash() -> None:
    source = "export default () => null;"
    base = CompilerSetup.create()
    mapped = CompilerSetup.create({"canvas-confetti": "https://cdn.example.com/confetti.js"})
    removed = CompilerSetup.create({"lucide-react": ""})
    target = CompilerSetup.create(options={"target": "es2022"})
    hashes = {s.hash_of(source) for s in (base, mapped, removed, target)}
    assert len(hashes) == 4
    assert CompilerSetup.create({}).hash_of(source) == base.hash_of(source)
    assert CompilerPool(make_settings(import_map={"x": "X"})).hash_of(source) != base.hash_of(source)


def test_worker_script_digest_follows_its_content(tmp_path: Path) -> None:
    copy = tmp_path / "js"
    shutil.copytree(JS_DIR, copy)
    assert script_digest(copy) == script_digest()
    (copy / "compile.mjs").write_text((copy / "compile.mjs").read_text() + "\n// changed\n")
    assert script_digest(copy) != script_digest()
