"""`python -m loadtest run`: seed, start the server, run locust headless in phases, check targets.

Phases (each a separate headless locust run against the same server):
1. warm-up   PlayerUser + CdnOriginUser, not measured (fills every worker's L1 for the Zipf head);
2. zipf      PlayerUser + CdnOriginUser, measured: per-route latency, failures, and the cache hit
             ratio read from /metrics (deltas over this phase only, so seeding, editors and first
             views do not pollute it);
3. mixed     all four user classes (players, CDN, editors, first views): per-route latency, failures.

Results go to loadtest/results/<stamp>-run/ (gitignored): locust CSVs per phase, plan.json,
summary.json and summary.md. Exit status 1 when any target is missed.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from loadtest import routes as lf
from loadtest.promtext import HitRatio, Metrics, hit_ratios
from loadtest.server import (
    ROOT,
    TOKEN,
    ServerProcess,
    backend,
    create_compiled,
    create_uncompiled,
    scene_sources,
    server_env,
    temp_workdir,
    variant,
)

RESULTS = Path(__file__).resolve().parent / "results"
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"

# (p95 ms, p99 ms) per route, under the default load on a 2-core machine shared with the load generator
TARGETS: dict[str, tuple[float, float]] = {
    lf.ROUTE_SCENE: (25, 50),
    lf.ROUTE_ARTIFACT: (25, 50),
    lf.ROUTE_REVALIDATE: (25, 50),
    lf.ROUTE_EDITOR_VIEW: (50, 100),
    lf.ROUTE_SAVE: (300, 600),
    lf.ROUTE_FIRST_VIEW: (300, 600),
    lf.ROUTE_PROJECT: (25, 50),
    lf.ROUTE_PROJECT_REVALIDATE: (25, 50),
}
HIT_RATIO_TARGET = 0.99
PROJECT_SCENES = 10


@dataclass
class RunConfig:
    backend: str = "embedded"
    workers: int = 2
    scenes: int = 500
    editor_scenes: int = 10
    projects: int = 20  # projects of PROJECT_SCENES compiled scenes, for the shared-player users
    zipf_s: float = 1.0
    users: int = 24
    mixed_users: int = 32
    warmup_seconds: float = 15
    zipf_seconds: float = 60
    mixed_seconds: float = 60
    fresh: int | None = None  # never-compiled scenes to seed (default: enough for the mixed phase)
    seed: int = 1
    results: Path | None = None
    check_latency: bool = True
    server_settings: dict[str, str] = field(default_factory=dict)  # extra PROXY_* for the server


@dataclass
class RouteStats:
    name: str
    requests: int
    failures: int
    p50: float
    p95: float
    p99: float
    rps: float


@dataclass
class PhaseResult:
    name: str
    seconds: float
    routes: list[RouteStats]
    csv_prefix: str

    @property
    def failures(self) -> int:
        return sum(r.failures for r in self.routes)

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.routes)


@dataclass
class RunResult:
    directory: Path
    phases: list[PhaseResult] = field(default_factory=list)
    hit: dict[str, HitRatio] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.misses


def read_stats(csv_path: Path) -> list[RouteStats]:
    """Per-route rows of a locust `<prefix>_stats.csv` (the Aggregated row is left out)."""
    out: list[RouteStats] = []
    with csv_path.open(newline="") as f:
        for row in csv.DictReader(f):
            if row["Name"] == "Aggregated":
                continue

            def num(key: str, row: dict[str, str] = row) -> float:
                value = row.get(key, "")
                return float(value) if value not in ("", "N/A") else math.nan

            out.append(RouteStats(row["Name"], int(row["Request Count"]), int(row["Failure Count"]),
                                  num("50%"), num("95%"), num("99%"), num("Requests/s")))
    return out


def run_locust(base: str, plan_path: Path, classes: list[str], users: int, seconds: float,
               csv_prefix: Path | None, log_path: Path) -> None:
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", base,
           "-u", str(users), "-r", str(max(users, 1) * 4), "-t", f"{max(1, round(seconds))}s",
           "--stop-timeout", "5", "--only-summary", "--loglevel", "WARNING"]
    if csv_prefix is not None:
        cmd += ["--csv", str(csv_prefix)]
    cmd += classes
    env = {**os.environ, "LOADTEST_PLAN": str(plan_path), "PYTHONPATH": str(ROOT)}
    with log_path.open("ab") as log:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                              timeout=seconds + 90, check=False)
    if proc.returncode not in (0, 1):  # 1: locust saw failures, which the CSV reports
        raise RuntimeError(f"locust exited with {proc.returncode}; see {log_path}")


def seed(server: ServerProcess, env: dict[str, str], cfg: RunConfig, fresh: int, directory: Path) -> Path:
    sources = scene_sources()
    t0 = time.monotonic()
    scenes = create_compiled(server.base, [variant(sources, i, "zipf") for i in range(cfg.scenes)], tag="zipf")
    editors = create_compiled(server.base, [variant(sources, i, "editor") for i in range(cfg.editor_scenes)],
                              tag="editor")
    fresh_ids = create_uncompiled(env, [variant(sources, i, f"fresh-{time.time_ns()}") for i in range(fresh)])
    projects = [str(uuid.uuid4()) for _ in range(cfg.projects)]
    builds: list[float] = []
    for n, project in enumerate(projects):
        create_compiled(server.base, [variant(sources, i, f"project-{n}") for i in range(PROJECT_SCENES)],
                        tag="project", project_id=project)
        # a project's module is built by its first request, as scenes are compiled by their save:
        # built here and timed apart, so the players' routes measure what every later view costs
        started = time.monotonic()
        with urllib.request.urlopen(f"{server.base}/api/projects/{project}/components", timeout=60) as r:
            r.read()
        builds.append((time.monotonic() - started) * 1000)
    print(f"seeded {len(scenes)} compiled + {len(editors)} editor + {len(fresh_ids)} never-compiled scenes + "
          f"{len(projects)} projects of {PROJECT_SCENES} in {time.monotonic() - t0:.1f}s")
    if builds:
        print(f"project modules: first request (builds the module of {PROJECT_SCENES} compiled scenes) "
              f"median {statistics.median(builds):.1f} ms, max {max(builds):.1f} ms (n={len(builds)})")
    plan = {"scenes": scenes, "editor_scenes": [e["id"] for e in editors], "fresh": fresh_ids, "projects": projects,
            "zipf_s": cfg.zipf_s, "seed": cfg.seed, "token": TOKEN, "sources": sources}
    path = directory / "plan.json"
    path.write_text(json.dumps(plan))
    return path


def evaluate(result: RunResult, check_latency: bool) -> None:
    for phase in result.phases:
        if phase.requests == 0:
            result.misses.append(f"{phase.name}: no requests were made")
        for r in phase.routes:
            if r.failures:
                result.misses.append(f"{phase.name}: {r.name}: {r.failures} failures of {r.requests}")
            target = TARGETS.get(r.name)
            if check_latency and target is not None and r.requests:
                if not r.p95 <= target[0]:
                    result.misses.append(f"{phase.name}: {r.name}: p95 {r.p95:.0f} ms > {target[0]:.0f} ms")
                if not r.p99 <= target[1]:
                    result.misses.append(f"{phase.name}: {r.name}: p99 {r.p99:.0f} ms > {target[1]:.0f} ms")
    overall = result.hit.get("all")
    if overall is None or not overall.ratio >= HIT_RATIO_TARGET:
        ratio = overall.ratio if overall else math.nan
        result.misses.append(f"zipf: cache hit ratio {ratio:.4f} < {HIT_RATIO_TARGET}")


def render(result: RunResult) -> str:
    lines = ["| phase | route | requests | failures | p50 ms | p95 ms | p99 ms | req/s | target p95/p99 |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for phase in result.phases:
        for r in phase.routes:
            t = TARGETS.get(r.name)
            lines.append(f"| {phase.name} | `{r.name}` | {r.requests} | {r.failures} | {r.p50:.0f} | {r.p95:.0f} "
                         f"| {r.p99:.0f} | {r.rps:.0f} | {f'{t[0]:.0f}/{t[1]:.0f}' if t else '-'} |")
    lines.append("")
    lines.append("| zipf phase, L1 cache | requests | misses | hit ratio |")
    lines.append("|---|---:|---:|---:|")
    for kind, h in result.hit.items():
        lines.append(f"| {kind} | {h.requests:.0f} | {h.misses:.0f} | {h.ratio:.4f} |")
    lines.append("")
    lines.append("verdict: " + ("all targets met" if result.ok else "MISSED: " + "; ".join(result.misses)))
    return "\n".join(lines)


def run(cfg: RunConfig) -> RunResult:
    directory = cfg.results or RESULTS / time.strftime("%Y%m%d-%H%M%S-run")
    directory.mkdir(parents=True, exist_ok=True)
    result = RunResult(directory)
    fresh = cfg.fresh if cfg.fresh is not None else int(cfg.mixed_seconds * 2 * max(1, cfg.mixed_users // 16)) + 20
    workdir = temp_workdir("loadtest-")
    try:
        _phases(cfg, result, fresh, workdir, directory)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    evaluate(result, cfg.check_latency)
    summary = {"config": {k: str(v) for k, v in asdict(cfg).items()},
               "phases": [{"name": p.name, "routes": [asdict(r) for r in p.routes]} for p in result.phases],
               "hit_ratio": {k: {**asdict(h), "ratio": h.ratio} for k, h in result.hit.items()},
               "misses": result.misses, "ok": result.ok}
    (directory / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    (directory / "summary.md").write_text(render(result) + "\n")
    return result


def _phases(cfg: RunConfig, result: RunResult, fresh: int, workdir: Path, directory: Path) -> None:
    with backend(cfg.backend, workdir) as be:
        env = server_env(be.env, **cfg.server_settings)
        server = ServerProcess(env, cfg.workers, log_path=directory / "server.log")
        with server:
            plan_path = seed(server, env, cfg, fresh, directory)
            log = directory / "locust.log"
            zipf_classes = ["PlayerUser", "CdnOriginUser"]
            if cfg.warmup_seconds > 0:
                print(f"warm-up: {cfg.warmup_seconds:.0f}s")
                run_locust(server.base, plan_path, zipf_classes, cfg.users, cfg.warmup_seconds, None, log)
            phases = [("zipf", zipf_classes, cfg.users, cfg.zipf_seconds),
                      ("mixed", [*zipf_classes, "EditorUser", "FirstViewUser", "ProjectPlayerUser"], cfg.mixed_users,
                        cfg.mixed_seconds)]
            for name, classes, users, seconds in phases:
                print(f"{name}: {users} users, {seconds:.0f}s")
                before = Metrics.fetch(server.base)
                prefix = directory / name
                run_locust(server.base, plan_path, classes, users, seconds, prefix, log)
                window = Metrics.fetch(server.base) - before
                if name == "zipf":
                    result.hit = hit_ratios(window)
                result.phases.append(PhaseResult(name, seconds, read_stats(Path(f"{prefix}_stats.csv")),
                                                 str(prefix)))
