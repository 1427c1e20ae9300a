"""`artifact-proxy compile FILE|- [--map OUT]`: the module on stdout (exit 0), or `FILE:LINE:COL: message`
(exit 1). `--map` writes its source map too (the module's comment names it `<hash>.js.map`: serve both
side by side under those names)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from config import Settings
from core.compiler import CompiledModule, CompileError
from proxy.compiler.pool import CompilerPool
from proxy.compiler.setup import CompilerSetupError

STDIN_NAME = "<stdin>"


async def _compile_once(source: str, settings: Settings) -> CompiledModule:
    pool = CompilerPool(settings.model_copy(update={"compile_workers": 1}))
    try:
        return await pool.compile(source)
    finally:
        await pool.close()


def run(path: str, settings: Settings, map_path: str | None = None) -> int:
    name = STDIN_NAME if path == "-" else path
    try:
        raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
        source = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        print(f"{name}:0:0: cannot read the scene: {e}", file=sys.stderr)
        return 1
    try:
        module = asyncio.run(_compile_once(source, settings))
    except CompileError as e:
        print(f"{name}:{e.line}:{e.column}: {e.message}", file=sys.stderr)
        return 1
    except CompilerSetupError as e:
        print(f"artifact-proxy compile: {e}", file=sys.stderr)
        return 1
    if map_path is not None and module.map is not None:
        try:
            Path(map_path).write_bytes(module.map)
        except OSError as e:
            print(f"artifact-proxy compile: cannot write the map: {e}", file=sys.stderr)
            return 1
    sys.stdout.buffer.write(module.code)
    sys.stdout.buffer.flush()
    return 0
