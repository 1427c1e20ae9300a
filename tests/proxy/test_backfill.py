"""`backfill` on both backends: what is stale, what is written, and what survives concurrency."""

from __future__ import annotations

import asyncio
import io
import logging
import uuid
from pathlib import Path

import orjson
import pytest

from core import metrics
from core.compiler import CompiledModule, CompileError
from core.scenes import Compilation
from proxy import backfill as backfill_module
from proxy.backfill import Backfill
from proxy.context import AppContext
from tests.fixtures_app import BROKEN_IMPORT, BROKEN_SYNTAX, add_scenes, scene

pytestmark = pytest.mark.asyncio(loop_scope="module")

OLD_COMPILER_HASH = "0123456789abcdef"  # what a previous compiler version recorded


def compiles_ok() -> float:
    return metrics.COMPILES.labels("ok")._value.get()


async def test_stale_detection_missing_and_mismatched_hash(ops_ctx: AppContext) -> None:
    c = ops_ctx
    never, upgraded, current = await add_scenes(c, [scene("never"), scene("upgraded"), scene("current")])
    # "compiler upgrade": the recorded hash is one the current compiler would not produce
    assert await c.repo.record_compilation(upgraded, scene("upgraded"), Compilation(
        OLD_COMPILER_HASH, f"/components/{OLD_COMPILER_HASH}.js", None))
    fresh = await c.service.compile_scene(await c.service.get_scene(current))
    assert fresh.compiled_hash == c.compiler.hash_of(scene("current"))

    stats = await Backfill(c.service, batch_size=2).run()  # pages of 2: the keyset crosses a page boundary

    assert (stats.scanned, stats.stale, stats.compiled, stats.unchanged, stats.failed) == (3, 2, 2, 1, 0)
    for scene_id, code in ((never, scene("never")), (upgraded, scene("upgraded"))):
        row = await c.repo.get(scene_id)
        assert row is not None and row.compiled_hash == c.compiler.hash_of(code)
        assert row.compiled_url == c.service.url_for(row.compiled_hash) and row.compiled_at is not None
        assert await c.store.exists(row.compiled_hash)
        assert c.service.status_of(row) == "ready"


async def test_dry_run_counts_and_writes_nothing(ops_ctx: AppContext) -> None:
    c = ops_ctx
    ids = await add_scenes(c, [scene(i) for i in range(4)])
    before = [await c.repo.get(i) for i in ids]
    stats = await Backfill(c.service, batch_size=3, dry_run=True).run()
    assert (stats.scanned, stats.stale, stats.compiled, stats.failed) == (4, 4, 0, 0)
    assert [await c.repo.get(i) for i in ids] == before
    for i in range(4):
        assert not await c.store.exists(c.compiler.hash_of(scene(i)))


async def test_limit_then_resume_does_no_rework(ops_ctx: AppContext) -> None:
    c = ops_ctx
    await add_scenes(c, [scene(f"resume {i}") for i in range(5)])
    first = await Backfill(c.service, batch_size=2, limit=2).run()
    assert (first.stale, first.compiled) == (2, 2)
    ok_before = compiles_ok()
    second = await Backfill(c.service, batch_size=2).run()  # as after a kill: picks up where it stopped
    assert (second.scanned, second.unchanged, second.compiled) == (5, 2, 3)
    assert compiles_ok() - ok_before == 3  # the two done by the first run were not compiled again
    third = await Backfill(c.service, batch_size=2).run()
    assert (third.unchanged, third.stale, third.compiled) == (5, 0, 0)


@pytest.mark.parametrize("backend_settings", ["sqlite"], indirect=True)  # backend-neutral logic
async def test_duplicates_compile_once_and_share_the_artifact(ops_ctx: AppContext) -> None:
    c = ops_ctx
    ids = await add_scenes(c, [scene("dup")] * 5 + [scene("solo")])
    ok_before = compiles_ok()
    stats = await Backfill(c.service, concurrency=4).run()
    assert stats.compiled == 6
    assert compiles_ok() - ok_before == 2
    hashes = {(await c.repo.get(i)).compiled_hash for i in ids[:5]}  # type: ignore[union-attr]
    assert hashes == {c.compiler.hash_of(scene("dup"))}


async def test_failures_are_recorded_reported_and_never_stop_the_run(ops_ctx: AppContext, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    c = ops_ctx
    monkeypatch.setattr(backfill_module, "RETRY_DELAY", 0.0)
    codes = [scene(0), BROKEN_SYNTAX, scene(1), BROKEN_IMPORT, scene(2), scene("times out")]
    ids = await add_scenes(c, codes)
    real_compile = c.compiler.compile
    attempts = 0

    async def flaky(source: str) -> CompiledModule:  # our fault, not the code's: never recorded
        nonlocal attempts
        if "times out" in source:
            attempts += 1
            raise CompileError("compile timed out after 5s", kind="timeout")
        return await real_compile(source)

    monkeypatch.setattr(c.compiler, "compile", flaky)
    report = io.StringIO()
    stats = await Backfill(c.service, batch_size=2, concurrency=3, report=report).run()

    assert (stats.compiled, stats.failed) == (3, 3)
    assert attempts == backfill_module.RETRIES
    lines = [orjson.loads(line) for line in report.getvalue().splitlines()]
    by_id = {uuid.UUID(entry["id"]): entry for entry in lines}
    assert set(by_id) == {ids[1], ids[3], ids[5]} and len(lines) == 3  # one line per failed id
    assert by_id[ids[1]]["kind"] == "syntax" and by_id[ids[1]]["error"].startswith("1:")
    assert by_id[ids[3]]["kind"] == "import" and "left-pad" in by_id[ids[3]]["error"]
    assert by_id[ids[5]]["kind"] == "timeout"
    broken = await c.repo.get(ids[1])
    assert broken is not None and broken.compilation_error == by_id[ids[1]]["error"]
    assert (await c.repo.get(ids[3])).compilation_error == by_id[ids[3]]["error"]  # type: ignore[union-attr]
    timed_out = await c.repo.get(ids[5])
    assert timed_out is not None and timed_out.compilation_error is None and timed_out.compiled_hash is None
    for i in (0, 2, 4):
        assert c.service.status_of(await c.repo.get(ids[i])) == "ready"  # type: ignore[arg-type]


async def test_a_concurrent_edit_is_never_overwritten(ops_ctx: AppContext, monkeypatch: pytest.MonkeyPatch) -> None:
    c = ops_ctx
    (edited,) = await add_scenes(c, [scene("before edit")])
    others = await add_scenes(c, [scene(f"other {i}") for i in range(3)])
    real_compile = c.compiler.compile

    async def edit_while_compiling(source: str) -> CompiledModule:
        module = await real_compile(source)
        if "before edit" in source:  # the user saves while the backfill holds the old code
            await c.repo.update_code(edited, scene("after edit"))
        return module

    monkeypatch.setattr(c.compiler, "compile", edit_while_compiling)
    stats = await Backfill(c.service, batch_size=10).run()

    assert (stats.compiled, stats.skipped_edited, stats.failed) == (3, 1, 0)
    row = await c.repo.get(edited)
    assert row is not None and row.tsx_code == scene("after edit")
    assert row.compiled_hash is None  # not the old code's artifact: the edit's own compile owns the row
    assert c.service.status_of(row) == "pending"
    for scene_id in others:
        assert c.service.status_of(await c.repo.get(scene_id)) == "ready"  # type: ignore[arg-type]
    monkeypatch.undo()
    again = await Backfill(c.service).run()  # the next run compiles the edit
    assert again.compiled == 1
    row = await c.repo.get(edited)
    assert row is not None and row.compiled_hash == c.compiler.hash_of(scene("after edit"))


@pytest.mark.parametrize("backend_settings", ["sqlite"], indirect=True)  # backend-neutral logic
async def test_a_recorded_error_of_an_old_edit_is_retried(ops_ctx: AppContext) -> None:
    """An error stays on the row until the code compiles; fixed code with the error still set is stale."""
    c = ops_ctx
    (scene_id,) = await add_scenes(c, [BROKEN_SYNTAX])
    stats = await Backfill(c.service).run()
    assert stats.failed == 1
    await c.repo.update_code(scene_id, scene("fixed"))
    stats = await Backfill(c.service).run()
    assert (stats.compiled, stats.failed) == (1, 0)
    row = await c.repo.get(scene_id)
    assert row is not None and row.compilation_error is None and c.service.status_of(row) == "ready"


@pytest.mark.parametrize("backend_settings", ["sqlite"], indirect=True)  # backend-neutral logic
async def test_compile_log_lines_carry_the_scene_id(ops_ctx: AppContext, caplog: pytest.LogCaptureFixture) -> None:
    c = ops_ctx
    ids = await add_scenes(c, [scene("logged"), BROKEN_SYNTAX])
    with caplog.at_level(logging.INFO, logger="artifact_proxy.compile"):
        await Backfill(c.service).run()
    lines = [r for r in caplog.records if getattr(r, "event", None) == "compile"]
    assert {r.sceneId for r in lines} == {str(i) for i in ids}  # type: ignore[attr-defined]
    for r in lines:
        assert r.hash and isinstance(r.ms, float) and r.outcome in ("ok", "error")  # type: ignore[attr-defined]


@pytest.mark.parametrize("backend_settings", ["sqlite"], indirect=True)
async def test_killed_midway_then_rerun_redoes_only_what_was_not_recorded(ops_ctx: AppContext,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    c = ops_ctx
    ids = await add_scenes(c, [scene(f"killed {i}") for i in range(12)])
    real_compile = c.compiler.compile
    compiled: list[str] = []
    started_by_rerun: list[str] = []  # a compile the first run started may finish after it was stopped
    rerun = False
    enough = asyncio.Event()

    async def counting(source: str) -> CompiledModule:
        if rerun:
            started_by_rerun.append(source)
        module = await real_compile(source)
        compiled.append(source)
        if len(compiled) == 5:
            enough.set()
        return module

    monkeypatch.setattr(c.compiler, "compile", counting)
    run = asyncio.create_task(Backfill(c.service, batch_size=4, concurrency=2).run())
    await enough.wait()
    run.cancel()  # what SIGINT/SIGTERM does to the command (SIGKILL loses no more than the in-flight ones)
    with pytest.raises(asyncio.CancelledError):
        await run
    done = {i for i in ids if (await c.repo.get(i)).compiled_hash}  # type: ignore[union-attr]
    assert 2 <= len(done) <= 5  # the compiles in flight (at most `concurrency`) were not recorded
    rerun = True
    again = await Backfill(c.service, batch_size=4, concurrency=2).run()
    assert again.unchanged == len(done) and again.compiled == 12 - len(done)
    assert len(started_by_rerun) == 12 - len(done)  # nothing recorded by the first run was compiled again
    assert all([(await c.repo.get(i)).compiled_hash for i in ids])  # type: ignore[union-attr]


@pytest.mark.parametrize("backend_settings", ["sqlite"], indirect=True)
async def test_stop_ends_a_run_with_its_statistics_and_records_nothing_more(ops_ctx: AppContext,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    c = ops_ctx
    ids = await add_scenes(c, [scene(f"stopped {i}") for i in range(12)])
    real_compile = c.compiler.compile
    compiled: list[str] = []
    run = Backfill(c.service, batch_size=4, concurrency=2)

    async def counting(source: str) -> CompiledModule:
        module = await real_compile(source)
        compiled.append(source)
        if len(compiled) == 4:
            run.stop()
        return module

    monkeypatch.setattr(c.compiler, "compile", counting)
    stats = await asyncio.wait_for(run.run(), 30)  # returns, not raises: the caller asked for the stop

    done = {i for i in ids if (await c.repo.get(i)).compiled_hash}  # type: ignore[union-attr]
    assert stats.compiled == len(done) <= 4
    assert len(compiled) <= 5  # nothing new was started: at most the other lane's compile in hand
    await asyncio.sleep(0.2)
    assert {i for i in ids if (await c.repo.get(i)).compiled_hash} == done  # type: ignore[union-attr]
