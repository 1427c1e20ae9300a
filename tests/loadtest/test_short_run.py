"""A short headless locust run against a real embedded server: the pipeline works end to end."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from loadtest.runner import RunConfig, run

pytestmark = pytest.mark.slow


@pytest.mark.timeout(120)
def test_short_locust_run_has_zero_failures_and_writes_its_results(tmp_path: Path) -> None:
    cfg = RunConfig(workers=2, scenes=30, editor_scenes=3, projects=2, users=4, mixed_users=12, warmup_seconds=1,
                    zipf_seconds=3, mixed_seconds=4, results=tmp_path, check_latency=False)
    result = run(cfg)

    assert [p.name for p in result.phases] == ["zipf", "mixed"]
    for phase in result.phases:
        assert Path(f"{phase.csv_prefix}_stats.csv").is_file()
        assert phase.requests > 0, phase.name
        assert phase.failures == 0, [(r.name, r.failures) for r in phase.routes]
    mixed = {r.name for r in result.phases[1].routes}
    assert {"GET /api/components/[id]", "GET /components/[hash].js", "PUT /api/scenes/[id]",
            "GET /api/components/[id] (never compiled)", "GET /api/projects/[id]/components",
            "GET /api/projects/[id]/components (If-None-Match)"} <= mixed
    hit = result.hit["all"]
    assert hit.requests > 0 and math.isfinite(hit.ratio) and 0.0 <= hit.ratio <= 1.0
    assert (tmp_path / "summary.json").is_file() and (tmp_path / "summary.md").is_file()


@pytest.mark.timeout(180)
def test_short_locust_run_through_pgbouncer_has_zero_failures(tmp_path: Path) -> None:
    # PostgreSQL behind a transaction-mode PgBouncer (as on Neon's pooled URL), S3 and Redis
    cfg = RunConfig(backend="pooled", workers=2, scenes=20, editor_scenes=3, projects=2, users=4, mixed_users=10,
                    warmup_seconds=1, zipf_seconds=3, mixed_seconds=4, results=tmp_path, check_latency=False)
    result = run(cfg)

    for phase in result.phases:
        assert phase.requests > 0, phase.name
        assert phase.failures == 0, [(r.name, r.failures) for r in phase.routes]
    log = (tmp_path / "server.log").read_text()
    assert "prepared statement" not in log  # what asyncpg's cache would have failed with
