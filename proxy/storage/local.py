"""Local-directory artifact store: `<dir>/<hash>.js`, written atomically, read off the event loop.

Write protocol: the bytes go to a temp file in the same directory (`.tmp-<hash>.js.<pid>.<random>`),
are fsynced, then published under the final name with `os.link` (which refuses to overwrite, so the
first complete writer wins and a stored object never changes) or, on a filesystem without hard
links, `os.replace`. Either way the final name only ever points at a complete file. A crash leaves
only a temp file: `get` never looks at those names, and they are removed when a store is created.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from core.artifact import is_valid_hash
from core.storage import SUFFIX, ObjectKind, StorageUnavailable

T = TypeVar("T")

TEMP_PREFIX = ".tmp-"
# A temp file this old cannot belong to a write in progress (a write is one small file + fsync).
STALE_TEMP_SECONDS = 60.0


def check_hash(hash: str) -> str:
    """Return `hash` if it is exactly 16 lowercase hex digits, else raise ValueError (before any I/O).

    This is the only gate between a request path and a storage name, so no other character (`/`,
    `..`, NUL, upper case, whitespace) can ever reach the filesystem or an S3 key.
    """
    if not isinstance(hash, str) or not is_valid_hash(hash):
        raise ValueError(f"invalid artifact hash {hash!r:.40}: expected 16 lowercase hex digits")
    return hash


def object_name(hash: str, kind: ObjectKind = "module") -> str:
    return f"{check_hash(hash)}{SUFFIX[kind]}"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # exists under another user (or not a pid we can judge): keep it
    return True


def _temp_owner_pid(name: str) -> int | None:
    # .tmp-<hash>.js.<pid>.<random>
    parts = name[len(TEMP_PREFIX) :].split(".")
    if len(parts) >= 4 and parts[2].isdigit():
        return int(parts[2])
    return None


class LocalStore:
    """Artifacts as files in one directory. Construct at start-up: creates the directory and
    removes temp files left by crashed writers (synchronously, once)."""

    def __init__(self, directory: str | os.PathLike[str], *, timeout: float = 5.0, threads: int = 4) -> None:
        self._dir = Path(directory).expanduser().absolute()
        self._timeout = timeout
        self._executor = ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="local-store")
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StorageUnavailable(f"cannot create artifact directory {self._dir}: {e}") from e
        self.cleanup_temp_files()

    @property
    def directory(self) -> Path:
        return self._dir

    def describe(self) -> str:
        return f"file:{self._dir}"

    # --- public API ---------------------------------------------------------------------------------

    async def get(self, hash: str, kind: ObjectKind = "module") -> bytes | None:
        path = self._dir / object_name(hash, kind)
        return await self._run(self._get_sync, path)

    async def put(self, hash: str, data: bytes, kind: ObjectKind = "module") -> None:
        name = object_name(hash, kind)
        await self._run(self._put_sync, name, bytes(data))

    async def exists(self, hash: str, kind: ObjectKind = "module") -> bool:
        path = self._dir / object_name(hash, kind)
        return await self._run(path.is_file)

    async def delete(self, hash: str, kind: ObjectKind = "module") -> None:
        path = self._dir / object_name(hash, kind)
        await self._run(path.unlink, True)

    async def check(self) -> None:
        await self._run(self._check_sync)

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def cleanup_temp_files(self, stale_after: float = STALE_TEMP_SECONDS) -> int:
        """Remove temp files of writers that are gone (dead pid on this host, or older than
        `stale_after` seconds). Temp files of live writers (other workers sharing the directory)
        are kept. Returns how many were removed."""
        removed = 0
        now = time.time()
        try:
            entries = list(os.scandir(self._dir))
        except OSError:
            return 0
        for entry in entries:
            if not entry.name.startswith(TEMP_PREFIX):
                continue
            try:
                pid = _temp_owner_pid(entry.name)
                old = now - entry.stat(follow_symlinks=False).st_mtime > stale_after
                if old or pid is None or not _pid_alive(pid):
                    os.unlink(entry.path)
                    removed += 1
            except FileNotFoundError:
                continue
            except OSError:
                continue
        return removed

    # --- blocking parts (run in the executor) -------------------------------------------------------

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(loop.run_in_executor(self._executor, fn, *args), self._timeout)
        except TimeoutError as e:
            raise StorageUnavailable(f"{self.describe()}: timed out after {self._timeout:g}s") from e
        except RuntimeError as e:  # executor shut down
            raise StorageUnavailable(f"{self.describe()}: store is closed") from e
        except OSError as e:
            raise StorageUnavailable(f"{self.describe()}: {e.strerror or e}") from e

    @staticmethod
    def _get_sync(path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None

    def _put_sync(self, name: str, data: bytes) -> None:
        final = self._dir / name
        if final.is_file():
            return
        for attempt in range(3):
            try:
                self._write_once(name, final, data)
                return
            except FileNotFoundError:
                # The directory was removed under us, or another process's start-up cleanup took our
                # temp file: recreate and try again.
                if attempt == 2:
                    raise
                self._dir.mkdir(parents=True, exist_ok=True)

    def _write_once(self, name: str, final: Path, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{name}.{os.getpid()}.", dir=self._dir)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)  # mkstemp creates 0600; artifacts are public
            try:
                os.link(tmp, final)  # atomic and never overwrites: first complete writer wins
            except FileExistsError:
                return
            except FileNotFoundError:
                raise
            except OSError:
                os.replace(tmp, final)  # filesystem without hard links
            self._fsync_dir()
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def _fsync_dir(self) -> None:
        try:
            fd = os.open(self._dir, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    def _check_sync(self) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        if not os.access(self._dir, os.R_OK | os.W_OK | os.X_OK):
            raise StorageUnavailable(f"{self.describe()}: directory is not readable and writable")
