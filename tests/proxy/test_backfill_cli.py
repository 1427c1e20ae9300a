"""`python -m proxy backfill` end to end, in a subprocess configured by environment only."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import orjson
import pytest

from config import Settings
from proxy.compiler.setup import CompilerSetup
from proxy.db import create_repository
from tests.fixtures_app import BROKEN_SYNTAX, ROOT, scene


def cli_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROXY_")}  # keeps AWS_* for moto
    env.update({"PROXY_DATABASE_URL": settings.database_url, "PROXY_STORAGE_URL": settings.storage_url,
                "PROXY_COMPILE_WORKERS": "1", "PROXY_LOG_LEVEL": "INFO"})
    if settings.s3_endpoint_url:
        env["PROXY_S3_ENDPOINT_URL"] = settings.s3_endpoint_url
    return env


async def seed(settings: Settings, codes: list[str]) -> list[uuid.UUID]:
    repo = create_repository(settings)
    await repo.migrate()
    try:
        ids = [uuid.uuid4() for _ in codes]
        for scene_id, code in zip(ids, codes, strict=True):
            await repo.create(scene_id, code, None, uuid.uuid4())
        return ids
    finally:
        await repo.close()


async def rows(settings: Settings, ids: list[uuid.UUID]) -> list[tuple[str | None, str | None]]:
    repo = create_repository(settings)
    try:
        found = [await repo.get(i) for i in ids]
        return [(r.compiled_hash, r.compilation_error) if r else (None, None) for r in found]
    finally:
        await repo.close()


async def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "proxy", "backfill", *args], cwd=ROOT, env=cli_env(settings),
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


async def test_backfill_command_compiles_reports_and_prints_a_summary(backend_settings: Settings,
                                                                      tmp_path: Path) -> None:
    ids = await seed(backend_settings, [scene("cli 1"), BROKEN_SYNTAX, scene("cli 2"), scene("cli 1")])
    report = tmp_path / "failures.jsonl"
    done = await run_cli(backend_settings, "--batch-size", "2", "--concurrency", "2", "--report", str(report))
    assert done.returncode == 0, done.stderr

    summary = orjson.loads(done.stdout.strip().splitlines()[-1])
    assert {k: summary[k] for k in ("scanned", "compiled", "unchanged", "failed")} == \
        {"scanned": 4, "compiled": 3, "unchanged": 0, "failed": 1}
    assert summary["elapsedSeconds"] > 0 and summary["scenesPerSecond"] > 0
    assert summary["report"] == str(report) and summary["dryRun"] is False

    stderr = done.stderr.splitlines()
    # not a terminal: plain progress lines, no carriage returns; then the human summary
    assert any(line.startswith("backfill: 4/4 scanned, 3 compiled, 1 failed") for line in stderr), done.stderr
    assert "\r" not in done.stderr
    assert any(line.startswith("backfill done: scanned 4") and str(report) in line for line in stderr)
    # structured logs: one JSON line per compile, with the scene id
    compiles = [orjson.loads(line) for line in stderr if line.startswith("{") and '"event":"compile"' in line]
    assert {c["sceneId"] for c in compiles} <= {str(i) for i in ids} and len(compiles) == 3
    assert all({"hash", "ms", "outcome"} <= set(c) for c in compiles)

    failures = [orjson.loads(line) for line in report.read_text().splitlines()]
    assert [f["id"] for f in failures] == [str(ids[1])] and failures[0]["kind"] == "syntax"

    setup = CompilerSetup.create()
    state = await rows(backend_settings, ids)
    assert state[0][0] == state[3][0] == setup.hash_of(scene("cli 1"))
    assert state[2][0] == setup.hash_of(scene("cli 2"))
    assert state[1] == (None, failures[0]["error"])

    again = await run_cli(backend_settings, "--report", str(report))  # idempotent: nothing left but the error
    summary = orjson.loads(again.stdout.strip().splitlines()[-1])
    assert (summary["compiled"], summary["unchanged"], summary["failed"]) == (0, 3, 1)


@pytest.mark.parametrize("backend_settings", ["sqlite"], indirect=True)
async def test_dry_run_and_limit_from_the_command_line(backend_settings: Settings, tmp_path: Path) -> None:
    ids = await seed(backend_settings, [scene(f"dry {i}") for i in range(3)])
    report = tmp_path / "never-written.jsonl"
    dry = await run_cli(backend_settings, "--dry-run", "--report", str(report))
    assert dry.returncode == 0, dry.stderr
    summary = orjson.loads(dry.stdout.strip().splitlines()[-1])
    assert (summary["dryRun"], summary["scanned"], summary["stale"], summary["compiled"]) == (True, 3, 3, 0)
    assert not report.exists()
    assert await rows(backend_settings, ids) == [(None, None)] * 3

    limited = await run_cli(backend_settings, "--limit", "2", "--report", str(report))
    assert orjson.loads(limited.stdout.strip().splitlines()[-1])["compiled"] == 2
    assert sum(1 for h, _ in await rows(backend_settings, ids) if h) == 2

    bad = await run_cli(backend_settings, "--batch-size", "0")
    assert bad.returncode == 2 and "--batch-size" in bad.stderr


async def test_backfill_through_pgbouncer_on_the_products_table_skips_soft_deleted_scenes(
    pg_settings: Settings, pgbouncer, tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    from tests.proxy.db import raw

    await raw.execute(pg_settings, *raw.product_ddl("postgres"))
    project = uuid.uuid4()
    await raw.execute(pg_settings, f"INSERT INTO \"bazaar-vid_project\" (id) VALUES ('{project}')")
    ids = [uuid.uuid4() for _ in range(3)]
    for n, scene_id in enumerate(ids):  # rows the product wrote itself, before the proxy existed
        await raw.execute(pg_settings, f"INSERT INTO \"bazaar-vid_scene\" (id, \"projectId\", \"tsxCode\") VALUES "
                                       f"('{scene_id}', '{project}', $${scene(f'product {n}')}$$)")
    await raw.execute(pg_settings, f"UPDATE \"bazaar-vid_scene\" SET deleted_at = now() WHERE id = '{ids[2]}'")
    pooled = pg_settings.model_copy(update={"database_url": pgbouncer.pooled(pg_settings.database_url),
                                            "storage_url": f"file://{tmp_path}/artifacts"})
    env = {**cli_env(pooled), "PROXY_DATABASE_DIRECT_URL": pg_settings.database_url}

    result = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "proxy", "backfill", "--concurrency", "4"], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)

    assert result.returncode == 0, result.stderr
    found = await raw.fetch(pg_settings, "SELECT id, compiled_hash FROM \"bazaar-vid_scene\" ORDER BY \"createdAt\"")
    hashes = {row["id"]: row["compiled_hash"] for row in found}
    assert hashes[ids[0]] and hashes[ids[1]]
    assert hashes[ids[2]] is None  # deleted: never compiled
    assert "scanned 2, stale 2, compiled 2," in result.stdout + result.stderr
