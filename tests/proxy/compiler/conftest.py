"""Shared helpers for the compiler tests: fixture corpus, a live pool, the Node import harness."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import pytest

from config import Settings
from core.compiler import CompiledModule
from proxy.compiler.pool import CompilerPool

ROOT = Path(__file__).resolve().parents[3]
SCENES = ROOT / "tests" / "fixtures" / "scenes"
ERRORS = SCENES / "errors"
HARNESS = Path(__file__).resolve().parent / "harness.mjs"
MAP_VALIDATOR = Path(__file__).resolve().parent / "validate_map.mjs"

# The contract's check: no bare import specifier may be left in a compiled module.
BARE_IMPORT = re.compile(r"""(?:\bfrom|\bimport)\s*\(?\s*["'](?![./]|[A-Za-z][A-Za-z0-9+.-]*:)[^"'\s]+["']""")


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"compile_workers": 1, "compile_timeout_seconds": 5.0}
    values.update(overrides)
    return Settings(**values)


def good_scenes() -> list[Path]:
    return sorted(SCENES.glob("*.tsx"))


def error_manifest() -> list[dict[str, Any]]:
    return json.loads((ERRORS / "manifest.json").read_text())


async def compile_all(paths: Iterable[Path], settings: Settings | None = None) -> dict[str, CompiledModule]:
    pool = CompilerPool(settings or make_settings(compile_workers=2))
    try:
        await pool.start()
        names = [p.stem for p in paths]
        modules = await asyncio.gather(*(pool.compile(SCENES.joinpath(f"{n}.tsx").read_text()) for n in names))
        return dict(zip(names, modules, strict=True))
    finally:
        await pool.close()


@pytest.fixture(scope="session")
def compiled_fixtures() -> dict[str, CompiledModule]:
    return asyncio.run(compile_all(good_scenes()))


@pytest.fixture
async def pool() -> AsyncIterator[CompilerPool]:
    p = CompilerPool(make_settings())
    await p.start()
    try:
        yield p
    finally:
        await p.close()


def run_harness(modules: dict[str, bytes], directory: Path, frames: Iterable[int] = (0,),
                setup: str | None = None) -> dict[str, Any]:
    """Import every module in one Node process (as a page would), render each at `frames`.

    `setup` is JavaScript run after the harness's globals are in place and before any module.
    """
    entries = []
    for name, code in modules.items():
        path = directory / f"{name}.mjs"
        path.write_bytes(code)
        entries.append({"name": name, "file": str(path)})
    request: dict[str, Any] = {"modules": entries, "frames": list(frames)}
    if setup is not None:
        setup_path = directory / "_setup.mjs"
        setup_path.write_text(setup)
        request["setup"] = str(setup_path)
    job = json.dumps(request)
    done = subprocess.run(["node", str(HARNESS)], input=job.encode(), capture_output=True, timeout=60,
                          cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    report = json.loads(done.stdout)
    return {r["name"]: r for r in report["results"]}


def live_processes_in_groups(groups: Iterable[int]) -> list[int]:
    """PIDs (not zombies) whose process group is one of `groups`: a worker and its esbuild child."""
    wanted = set(groups)
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[2]) in wanted:
            found.append(int(stat.parent.name))
    return found


def wait_until_gone(groups: Iterable[int], seconds: float = 3.0) -> list[int]:
    deadline = time.monotonic() + seconds
    groups = list(groups)
    while (left := live_processes_in_groups(groups)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def validate_map(source_map: bytes) -> dict[str, Any]:
    """{ok, problems, segments}: the map checked against the v3 format by validate_map.mjs, which decodes
    every segment with @jridgewell/sourcemap-codec (independent of the proxy's decoder)."""
    out = subprocess.run(["node", str(MAP_VALIDATOR)], input=source_map, capture_output=True, cwd=ROOT,
                         timeout=60, check=True)
    result: dict[str, Any] = json.loads(out.stdout)
    return result
