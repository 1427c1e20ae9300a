"""Scene compiler: TSX in, a browser ES module bound to the host page's globals out.

    compiler = create_compiler(settings)
    await compiler.start()
    module = await compiler.compile(tsx)      # CompiledModule(hash, code) or raises CompileError
    compiler.hash_of(tsx)                     # the same hash, without compiling
    await compiler.close()
"""

from __future__ import annotations

from config import Settings
from core.compiler import CompiledModule, CompileError, Compiler, ErrorKind
from proxy.compiler.error_module import render_error_module
from proxy.compiler.pool import CompilerPool
from proxy.compiler.setup import DEFAULT_IMPORT_MAP, CompilerSetupError


def create_compiler(settings: Settings) -> Compiler:
    """The worker pool; raises CompilerSetupError (with the fix in its message) when tools are missing."""
    return CompilerPool(settings)


__all__ = [
    "DEFAULT_IMPORT_MAP",
    "CompileError",
    "CompiledModule",
    "Compiler",
    "CompilerPool",
    "CompilerSetupError",
    "ErrorKind",
    "create_compiler",
    "render_error_module",
]
