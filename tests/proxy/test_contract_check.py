"""The shared contract check (../shared/checks/contract.py), run against real server processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from config import Settings
from tests.fixtures_server import ROOT, TOKEN

CHECK = ROOT.parent / "shared" / "checks" / "contract.py"


def run_check(base: str) -> str:
    if not CHECK.exists():
        pytest.fail(f"{CHECK} is missing: CI clones the repo with ../shared beside it")
    out = subprocess.run([sys.executable, str(CHECK), base, TOKEN], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_contract_passes_on_the_embedded_defaults(spawn_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server = spawn_server(workers=2, database_url=f"sqlite:///{tmp_path}/p.sqlite3",
                          storage_url=f"file://{tmp_path}/artifacts")
    assert "core contract: 14/14" in run_check(server.base)


def test_contract_passes_on_postgres_s3_and_redis(spawn_server, pg_settings: Settings,  # type: ignore[no-untyped-def]
                                                  s3_settings: Settings, redis_url: str) -> None:
    server = spawn_server(workers=2, database_url=pg_settings.database_url, storage_url=s3_settings.storage_url,
                          s3_endpoint_url=s3_settings.s3_endpoint_url or "", redis_url=redis_url)
    assert "core contract: 14/14" in run_check(server.base)
