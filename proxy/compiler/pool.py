"""The Compiler the service uses: a fixed pool of persistent Node workers, one compile at a time each.

Bounded everywhere: at most `compile_workers` compiles run, at most `compile_queue_limit` wait,
each takes at most `compile_timeout_seconds`. A worker that hangs or dies is killed and replaced
in the background; only the request it was serving fails.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

import orjson

from config import Settings
from core.artifact import map_source_name, with_map_comment
from core.compiler import CompiledModule, CompileError
from proxy.compiler.setup import WORKER_SCRIPT, CompilerSetup, CompilerSetupError
from proxy.compiler.worker import Worker, WorkerDied

log = logging.getLogger("proxy.compiler")

# esbuild's working directory: a path below a regular file can never exist, so even a resolve that
# slipped past the plugin would find nothing. Unlike a temp dir, it cannot be populated or leak.
NOWHERE = WORKER_SCRIPT / "no-such-directory"
_READY_TIMEOUT = 30.0  # node start + esbuild service + warm-up, on a busy 2-core box
_WORKER_KINDS = frozenset({"syntax", "import", "no-default-export", "too-large"})


class CompilerPool:
    def __init__(self, settings: Settings, *, setup: CompilerSetup | None = None,
                 debug_ops: bool = False) -> None:
        self._settings = settings
        self._setup = setup or CompilerSetup.create(settings.import_map, source_maps=settings.source_maps)
        self._debug_ops = debug_ops
        self._idle: asyncio.Queue[Worker] = asyncio.Queue()
        self._workers: set[Worker] = set()
        self._waiting = 0
        self._serial = 0
        self._started = False
        self._closing = False
        self._start_lock = asyncio.Lock()
        self._respawns: set[asyncio.Task[None]] = set()

    # --- Compiler protocol --------------------------------------------------------------

    @property
    def fingerprint(self) -> str:
        return self._setup.fingerprint

    @property
    def setup(self) -> CompilerSetup:
        return self._setup

    def hash_of(self, source: str) -> str:
        return self._setup.hash_of(source)

    async def compile(self, source: str) -> CompiledModule:
        try:
            size = len(source.encode("utf-8"))
        except UnicodeEncodeError as e:
            message = f"source is not valid Unicode text (character {e.start + 1})"
            raise CompileError(message, kind="syntax") from None
        limit = self._settings.max_source_bytes
        if size > limit:
            raise CompileError(f"scene is too large: {size} bytes (limit {limit} bytes)", kind="too-large")
        hash = self.hash_of(source)
        reply = await self._call({"op": "compile", "source": source, "sourceName": map_source_name(hash)})
        if reply.get("ok"):
            code = str(reply["code"]).encode()
            source_map = reply.get("map")
            if not isinstance(source_map, str):
                return CompiledModule(hash=hash, code=code)
            return CompiledModule(hash=hash, code=with_map_comment(code, hash), map=source_map.encode())
        raise _error_from_reply(reply.get("error") or {})

    async def bundle(self, scenes: list[tuple[str, bytes]]) -> bytes:
        """One ES module holding several compiled scenes: `default` maps each id to its component."""
        payload = [{"id": scene_id, "code": code.decode()} for scene_id, code in scenes]
        reply = await self._call({"op": "bundle", "scenes": payload})
        if reply.get("ok"):
            return str(reply["code"]).encode()
        raise CompileError("could not bundle the project's scenes", kind="crash")

    async def start(self) -> None:
        async with self._start_lock:
            if self._started:
                return
            if self._closing:
                raise CompilerSetupError("compiler pool is closed")
            results = await asyncio.gather(
                *(self._spawn() for _ in range(self._settings.compile_workers)), return_exceptions=True)
            failures = [r for r in results if isinstance(r, BaseException)]
            for r in results:
                if isinstance(r, Worker):
                    if failures:
                        await self._retire(r)
                    else:
                        self._idle.put_nowait(r)
            if failures:
                raise CompilerSetupError(str(failures[0])) from None
            self._started = True

    async def close(self) -> None:
        self._closing = True
        for task in list(self._respawns):
            task.cancel()
        await asyncio.gather(*self._respawns, return_exceptions=True)
        await asyncio.gather(*(w.close() for w in list(self._workers)), return_exceptions=True)
        self._workers.clear()
        while not self._idle.empty():
            self._idle.get_nowait()

    # --- internals (tests drive the debug ops through _call) -------------------------------

    def pids(self) -> list[int]:
        return sorted(w.pid for w in self._workers)

    async def _call(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Run one request on a free worker. Raise CompileError for overload, timeout and crashes."""
        if not self._started:
            try:
                await self.start()
            except CompilerSetupError as e:
                raise CompileError(f"compiler unavailable: {e}", kind="crash") from None
        if self._closing:
            raise CompileError("compiler is shutting down", kind="overloaded")
        timeout = self._settings.compile_timeout_seconds
        worker = await self._acquire(timeout)
        try:
            reply = await worker.request(payload, timeout)
        except TimeoutError:
            self._replace(worker)
            raise CompileError(f"compile timed out after {timeout:g}s", kind="timeout") from None
        except WorkerDied:
            self._replace(worker)
            raise CompileError("compiler process crashed", kind="crash") from None
        except BaseException:
            # Cancelled by our caller: the worker is fine, and a late reply carries an id nobody awaits.
            self._idle.put_nowait(worker)
            raise
        if not reply.get("ok") and (reply.get("error") or {}).get("kind") == "internal":
            # our fault inside the worker (its esbuild service may be dead): a fresh process takes the slot
            self._replace(worker)
            return reply
        self._idle.put_nowait(worker)
        return reply

    async def _acquire(self, wait_seconds: float) -> Worker:
        if self._idle.empty() and self._waiting >= self._settings.compile_queue_limit:
            raise CompileError("too many compiles waiting; try again shortly", kind="overloaded")
        self._waiting += 1
        try:
            worker = await asyncio.wait_for(self._idle.get(), wait_seconds)
        except TimeoutError:
            message = f"no compiler became free within {wait_seconds:g}s"
            raise CompileError(message, kind="overloaded") from None
        finally:
            self._waiting -= 1
        if worker.alive:
            return worker
        # It died while idle (killed from outside): replace it inline, this caller waits for it.
        # Whatever happens, the slot must not be lost: on failure it is refilled in the background.
        try:
            await self._retire(worker)
            return await self._spawn()
        except WorkerDied as e:
            self._replace(None)
            raise CompileError(f"compiler process could not be restarted: {e}", kind="crash") from None
        except BaseException:
            self._replace(None)
            raise

    async def _spawn(self) -> Worker:
        self._serial += 1
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "ARTIFACT_COMPILER_CONFIG": self._setup.worker_config(NOWHERE).decode(),
            "ARTIFACT_COMPILER_LIMITS": orjson.dumps({"maxArtifactBytes": self._settings.max_artifact_bytes}).decode(),
        }
        # A hostile scene may exhaust the worker's heap or stack; then only this process dies (a crash).
        node_args = [f"--max-old-space-size={self._settings.compile_memory_mb}",
                     f"--stack-size={self._settings.compile_stack_kb}"]
        if self._debug_ops:
            env["ARTIFACT_COMPILER_DEBUG_OPS"] = "1"
        worker = await Worker.spawn(self._settings.node_binary, env, Path("/"),
                                    f"worker-{self._serial}", _READY_TIMEOUT, node_args)
        if worker.esbuild_version != self._setup.esbuild_version:
            await worker.kill()
            raise WorkerDied(f"node loaded esbuild {worker.esbuild_version}, expected "
                             f"{self._setup.esbuild_version}: run make install")
        if self._closing:
            await worker.kill()
            raise WorkerDied("compiler pool is closed")
        self._workers.add(worker)
        return worker

    async def _retire(self, worker: Worker) -> None:
        await worker.kill()
        self._workers.discard(worker)  # only now: if cancelled above, close() still finds it

    def _replace(self, worker: Worker | None) -> None:
        """Kill a worker that failed a request; a fresh one takes its slot without blocking the caller."""
        task = asyncio.create_task(self._respawn(worker))
        self._respawns.add(task)
        task.add_done_callback(self._respawns.discard)

    async def _respawn(self, worker: Worker | None) -> None:
        if worker is not None:
            await self._retire(worker)
        delay = 0.2
        while not self._closing:
            try:
                self._idle.put_nowait(await self._spawn())
                return
            except WorkerDied as e:
                log.error("compiler worker restart failed (retrying in %.1fs): %s", delay, e)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)



def _error_from_reply(error: dict[str, Any]) -> CompileError:
    """A worker may blame the scene only for these kinds; anything else is a crash of ours."""
    if error.get("kind") not in _WORKER_KINDS:
        return CompileError("internal compiler error", kind="crash")
    return CompileError.from_json(error)

