"""LocalStore specifics: atomic files, crash leftovers, start-up behaviour."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from proxy.storage import LocalStore, StorageUnavailable

H1 = "0123456789abcdef"
CODE = b"export default 1;\n"


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def leftover(directory: Path, pid: int, data: bytes = b"export def") -> Path:
    path = directory / f".tmp-{H1}.js.{pid}.abc123"
    path.write_bytes(data)
    return path


async def test_directory_is_created_on_start(tmp_path: Path) -> None:
    directory = tmp_path / "a" / "b" / "artifacts"
    store = LocalStore(directory)
    assert directory.is_dir()
    await store.check()
    await store.close()


async def test_describe_is_a_file_url_of_the_absolute_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = LocalStore("rel/artifacts")
    assert store.describe() == f"file:{tmp_path}/rel/artifacts"
    await store.close()


async def test_leftover_temp_file_is_never_returned(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    leftover(tmp_path, os.getpid())  # looks like an in-flight write of this very process
    assert await store.get(H1) is None
    assert await store.exists(H1) is False
    await store.put(H1, CODE)
    assert await store.get(H1) == CODE
    await store.close()


async def test_leftover_temp_file_of_a_crashed_writer_is_removed_at_start(tmp_path: Path) -> None:
    crashed = leftover(tmp_path, dead_pid())
    unrelated = tmp_path / "notes.txt"
    unrelated.write_text("keep me")
    store = LocalStore(tmp_path)
    assert not crashed.exists()
    assert unrelated.exists()
    assert await store.get(H1) is None
    await store.close()


async def test_old_temp_file_is_removed_at_start_even_if_its_pid_is_alive(tmp_path: Path) -> None:
    stale = leftover(tmp_path, os.getpid())
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))
    LocalStore(tmp_path)
    assert not stale.exists()


async def test_fresh_temp_file_of_a_live_sibling_worker_is_kept_at_start(tmp_path: Path) -> None:
    # Several workers share the directory; one starting must not break another's write in flight.
    in_flight = leftover(tmp_path, os.getppid())
    LocalStore(tmp_path)
    assert in_flight.exists()


async def test_put_leaves_only_the_final_world_readable_file(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    await store.put(H1, CODE)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{H1}.js"]
    mode = stat.S_IMODE((tmp_path / f"{H1}.js").stat().st_mode)
    assert mode & 0o444 == 0o444
    await store.close()


async def test_put_recreates_a_directory_removed_at_runtime(tmp_path: Path) -> None:
    directory = tmp_path / "artifacts"
    store = LocalStore(directory)
    directory.rmdir()
    await store.put(H1, CODE)
    assert await store.get(H1) == CODE
    await store.close()


async def test_file_that_is_not_readable_raises_storage_unavailable(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    (tmp_path / f"{H1}.js").mkdir()  # a directory where the file should be: EISDIR on read
    with pytest.raises(StorageUnavailable):
        await store.get(H1)
    await store.close()


async def test_closed_store_raises_storage_unavailable(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    await store.close()
    with pytest.raises(StorageUnavailable):
        await store.get(H1)


async def test_unusable_directory_fails_at_start(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StorageUnavailable):
        LocalStore(blocker / "artifacts")
