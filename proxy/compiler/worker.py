"""One persistent Node compiler process, spoken to in JSON lines over its stdin/stdout."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from pathlib import Path
from typing import Any

import orjson

log = logging.getLogger("proxy.compiler")

_LINE_LIMIT = 64 * 1024 * 1024  # one reply is one line; a 512 KB scene can grow a lot when ASCII-escaped


class WorkerDied(Exception):
    """The process exited (or its pipe broke) before answering."""


class Worker:
    def __init__(self, proc: asyncio.subprocess.Process, name: str) -> None:
        self.proc = proc
        self.name = name
        self.esbuild_version = ""
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._next_id = 1
        self._ready: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read_stdout())
        self._stderr = asyncio.create_task(self._read_stderr())

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None and not self._reader.done()

    @classmethod
    async def spawn(cls, node: str, env: dict[str, str], cwd: Path, name: str,
                    ready_seconds: float, node_args: list[str] | None = None) -> Worker:
        from proxy.compiler.setup import WORKER_SCRIPT

        try:
            proc = await asyncio.create_subprocess_exec(
                node, *(node_args or []), str(WORKER_SCRIPT),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                cwd=cwd, env=env, limit=_LINE_LIMIT,
                # Its own process group, so killing it also kills esbuild's service process.
                start_new_session=True,
            )
        except OSError as e:
            hint = "Settings.node_binary / PROXY_NODE_BINARY"
            raise WorkerDied(f"cannot start {node!r} ({hint}): {e}") from None
        worker = cls(proc, name)
        try:
            hello = await asyncio.wait_for(asyncio.shield(worker._ready), ready_seconds)
        except (TimeoutError, WorkerDied) as e:
            await worker.kill()
            raise WorkerDied(f"compiler worker did not start: {e or 'timed out'}") from None
        except BaseException:
            await worker.kill()  # cancelled (the pool is closing): leave no process behind
            raise
        worker.esbuild_version = str(hello.get("esbuild", ""))
        return worker

    async def request(self, payload: dict[str, Any], limit_seconds: float) -> dict[str, Any]:
        """Send one request and wait for its reply; TimeoutError leaves the worker to be killed."""
        if not self.alive:
            raise WorkerDied("worker is not running")
        request_id = self._next_id
        self._next_id += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            stdin = self.proc.stdin
            assert stdin is not None
            stdin.write(orjson.dumps({**payload, "id": request_id}) + b"\n")
            try:
                await stdin.drain()
            except (ConnectionError, RuntimeError) as e:
                raise WorkerDied(f"worker pipe broke: {e}") from None
            return await asyncio.wait_for(future, limit_seconds)
        finally:
            self._pending.pop(request_id, None)

    async def _read_stdout(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        try:
            while line := await stdout.readline():
                try:
                    message = orjson.loads(line)
                except orjson.JSONDecodeError:
                    log.warning("compiler %s: unreadable reply line dropped", self.name)
                    continue
                if message.get("ready") and not self._ready.done():
                    self._ready.set_result(message)
                    continue
                future = self._pending.get(message.get("id"))
                if future is not None and not future.done():
                    future.set_result(message)
        except (ValueError, ConnectionError) as e:  # ValueError: a reply over the line limit
            log.warning("compiler %s: reply stream failed: %s", self.name, e)
        finally:
            self._fail_pending(WorkerDied(f"compiler worker exited (code {self.proc.returncode})"))

    def _fail_pending(self, error: WorkerDied) -> None:
        if not self._ready.done():
            self._ready.set_exception(error)
            self._ready.exception()  # nobody may be waiting; do not warn about it
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)

    async def _read_stderr(self) -> None:
        stderr = self.proc.stderr
        assert stderr is not None
        with contextlib.suppress(ValueError, ConnectionError):
            while line := await stderr.readline():
                log.warning("compiler %s: %s", self.name, line.decode(errors="replace").rstrip()[:2000])

    async def close(self, grace: float = 2.0) -> None:
        """Ask politely (close stdin), then kill the whole process group."""
        if self.proc.returncode is None and self.proc.stdin is not None:
            self.proc.stdin.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.proc.wait(), grace)
        await self.kill()

    async def kill(self) -> None:
        """Idempotent, and safe to cancel: the pipe and the processes are gone before the first await."""
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        await self.proc.wait()
        for task in (self._reader, self._stderr):
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, 1.0)
