"""`python -m loadtest soak`: the mixed workload for a long time (default 10 minutes) while the
server's processes are sampled every few seconds: RSS and open file descriptors of the supervisor,
every HTTP worker and every compiler process, plus the L1 bytes gauge from /metrics.

Verdict ("flat"): after a warm-up share of the run, the median of the last half of the samples is
compared with the median of the first half, per process:
- RSS may grow by at most max(RSS_SLACK_MIB, 5 %) beyond what the L1 cache gained (the cache is
  allowed to fill up to its budget; that is not a leak);
- open file descriptors may grow by at most FD_SLACK.
Samples go to soak_samples.csv, the verdict to soak.md / soak.json, both in the results directory.
"""

from __future__ import annotations

import csv
import json
import shutil
import statistics
import threading
import time
from dataclasses import dataclass

from loadtest.promtext import Metrics
from loadtest.runner import RESULTS, RunConfig, read_stats, run_locust, seed
from loadtest.server import ServerProcess, backend, server_env, temp_workdir

RSS_SLACK_MIB = 16.0
FD_SLACK = 4
MIB = 1024 * 1024


@dataclass
class ProcessSample:
    t: float
    pid: int
    role: str
    rss: int
    fds: int
    l1_bytes: float


def _role(proc: object, server: ServerProcess) -> str:
    try:
        cmd = " ".join(proc.cmdline())  # type: ignore[attr-defined]
    except Exception:
        return "gone"
    if proc.pid == (server.proc.pid if server.proc else -1):  # type: ignore[attr-defined]
        return "server" if server.workers == 1 else "supervisor"
    if "node" in cmd.split(" ", 1)[0]:
        return "compiler"
    if "resource_tracker" in cmd:
        return "resource_tracker"
    return "worker"


def sample(server: ServerProcess, t0: float) -> list[ProcessSample]:
    import psutil

    try:
        l1 = Metrics.fetch(server.base, timeout=5).total("artifact_proxy_l1_bytes")
    except OSError:
        l1 = float("nan")
    out = []
    for p in server.processes():
        try:
            out.append(ProcessSample(time.monotonic() - t0, p.pid, _role(p, server),  # type: ignore[attr-defined]
                                     p.memory_info().rss, p.num_fds(), l1))  # type: ignore[attr-defined]
        except psutil.Error:
            continue
    return out


@dataclass
class Trend:
    pid: int
    role: str
    rss_first_mib: float
    rss_last_mib: float
    fds_first: float
    fds_last: float
    l1_growth_mib: float
    flat: bool


def verdict(samples: list[ProcessSample], duration: float, warmup_share: float = 0.2) -> list[Trend]:
    """Per pid: first-half vs last-half medians after the warm-up share; see the module docstring."""
    trends = []
    for pid in sorted({s.pid for s in samples}):
        mine = [s for s in samples if s.pid == pid and s.t >= duration * warmup_share]
        if len(mine) < 4:
            continue
        half = len(mine) // 2
        first, last = mine[:half], mine[half:]
        rss_a = statistics.median(s.rss for s in first) / MIB
        rss_b = statistics.median(s.rss for s in last) / MIB
        fd_a = statistics.median(s.fds for s in first)
        fd_b = statistics.median(s.fds for s in last)
        l1_growth = 0.0
        if mine[0].role in ("worker", "server"):  # L1 lives in the HTTP workers; the gauge sums them
            workers = max(1, len({s.pid for s in samples if s.role in ("worker", "server")}))
            l1_a = statistics.median(s.l1_bytes for s in first)
            l1_b = statistics.median(s.l1_bytes for s in last)
            if l1_a == l1_a and l1_b == l1_b:  # not NaN
                l1_growth = max(0.0, (l1_b - l1_a) / MIB / workers)
        flat = (rss_b - rss_a - l1_growth <= max(RSS_SLACK_MIB, 0.05 * rss_a)) and (fd_b - fd_a <= FD_SLACK)
        trends.append(Trend(pid, mine[0].role, rss_a, rss_b, fd_a, fd_b, l1_growth, flat))
    return trends


def soak(cfg: RunConfig, duration: float, interval: float) -> bool:
    directory = cfg.results or RESULTS / time.strftime("%Y%m%d-%H%M%S-soak")
    directory.mkdir(parents=True, exist_ok=True)
    workdir = temp_workdir("loadtest-soak-")
    samples: list[ProcessSample] = []
    try:
        with backend(cfg.backend, workdir) as be:
            env = server_env(be.env, **cfg.server_settings)
            with ServerProcess(env, cfg.workers, log_path=directory / "server.log") as server:
                fresh = int(duration * 1.2) + 20  # one first view per second per FirstViewUser
                plan_path = seed(server, env, cfg, fresh, directory)
                stop = threading.Event()
                t0 = time.monotonic()

                def sampler() -> None:
                    deadline = t0 + duration + 120
                    while not stop.is_set() and time.monotonic() < deadline:
                        samples.extend(sample(server, t0))
                        stop.wait(interval)

                thread = threading.Thread(target=sampler, daemon=True)
                thread.start()
                classes = ["PlayerUser", "CdnOriginUser", "EditorUser", "FirstViewUser", "ProjectPlayerUser"]
                try:
                    run_locust(server.base, plan_path, classes, cfg.mixed_users, duration, directory / "soak",
                               directory / "locust.log")
                finally:
                    stop.set()
                    thread.join(interval + 10)
                samples.extend(sample(server, t0))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    with (directory / "soak_samples.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t_seconds", "pid", "role", "rss_bytes", "open_fds", "l1_bytes_all_workers"])
        for s in samples:
            w.writerow([f"{s.t:.1f}", s.pid, s.role, s.rss, s.fds, f"{s.l1_bytes:.0f}"])
    trends = verdict(samples, duration)
    routes = read_stats(directory / "soak_stats.csv")
    failures = sum(r.failures for r in routes)
    ok = all(t.flat for t in trends) and failures == 0 and bool(trends)
    lines = [f"soak: {duration:.0f}s, {cfg.mixed_users} users, {len(samples)} samples every {interval:.0f}s, "
             f"{sum(r.requests for r in routes)} requests, {failures} failures",
             "",
             "| pid | role | RSS MiB first half | RSS MiB last half | L1 growth MiB | fds first | fds last | flat |",
             "|---:|---|---:|---:|---:|---:|---:|---|"]
    for t in trends:
        lines.append(f"| {t.pid} | {t.role} | {t.rss_first_mib:.1f} | {t.rss_last_mib:.1f} | {t.l1_growth_mib:.1f} "
                     f"| {t.fds_first:.0f} | {t.fds_last:.0f} | {'yes' if t.flat else 'NO'} |")
    lines += ["", "verdict: " + ("RSS and open files stay flat" if ok else "NOT flat (or failures): see the table")]
    text = "\n".join(lines)
    (directory / "soak.md").write_text(text + "\n")
    (directory / "soak.json").write_text(json.dumps({"ok": ok, "failures": failures,
                                                     "trends": [t.__dict__ for t in trends]}, indent=2))
    print(text)
    print(f"results: {directory}")
    return ok
