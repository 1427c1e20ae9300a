"""All the serving benchmarks in one run on one machine, so the ratios hold on a noisy box:

    .venv/bin/python -m loadtest.bench_http [--rounds 3] [--seconds 8] [--connections 64]
        [--skip-browser] [--skip-memory] [--memory-artifacts 10000] [--cold-samples 200]

1. hot artifact: wrk (keep-alive, no Accept-Encoding: identity bytes everywhere) against
   the proxy (1 and N workers), a bare aiohttp handler returning the same bytes and headers (same
   worker count, uvloop), and nginx serving the same file statically; plus the warm
   `/api/components/<id>` 302 (mapping cached). Rounds are interleaved; within a round the proxy and
   the bare handler with the same worker count run back to back (alternating which goes first), and
   the proxy/bare ratio is the median of those pairs; req/s and latencies are medians per target.
2. cold path: first request for never-compiled scenes, end to end (302 after lookup + compile +
   store, then the artifact), sequential, p50/p99.
3. browser: old client-side Sucrase vs `import()` from the proxy (loadtest/bench_browser.py).
4. memory: RSS of one worker after serving N distinct artifacts (loadtest/bench_memory.py).

Writes loadtest/results/<stamp>-bench/ (benchmarks.md, benchmarks.json, wrk outputs) and the chart
docs/benchmarks.png; prints the markdown table.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from loadtest.server import (
    ROOT,
    SCENES_DIR,
    ServerProcess,
    backend,
    create_compiled,
    create_uncompiled,
    free_port,
    scene_sources,
    server_env,
    temp_workdir,
    variant,
)

RESULTS = Path(__file__).resolve().parent / "results"
CHART = ROOT / "docs" / "benchmarks.png"


def find_nginx() -> str | None:
    """nginx on PATH, or Debian's /usr/sbin/nginx (not on a non-root PATH); None when not installed."""
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    return found if os.access(found, os.X_OK) else None


NGINX = find_nginx()


# --- statistics --------------------------------------------------------------------------------------

def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kib = int(next(x for x in Path("/proc/meminfo").read_text().splitlines()
                           if x.startswith("MemTotal")).split()[1])
    except (OSError, StopIteration, ValueError):
        mem_kib = 0
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    nginx = subprocess.run([NGINX, "-v"], capture_output=True, text=True, check=False) if NGINX else None
    nginx_version = nginx.stderr.strip() if nginx else "nginx: not installed"
    return {"nproc": str(os.cpu_count()), "cpu": cpu, "memory": f"{mem_kib / 1024 / 1024:.1f} GiB",
            "kernel": platform.release(), "python": platform.python_version(),
            "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "wrk": (wrk.stdout or wrk.stderr).split("\n")[0].strip(), "nginx": nginx_version}


# --- wrk ----------------------------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text.strip())
    if m is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


@dataclass
class WrkResult:
    rps: float
    p50: float
    p90: float
    p99: float
    requests: int
    errors: int  # socket errors + non-2xx/3xx


def parse_wrk(out: str) -> WrkResult:
    pct = {int(m.group(1)): _ms(m.group(2)) for m in re.finditer(r"^\s+(50|75|90|99)%\s+(\S+)$", out, re.M)}
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = 0
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(x) for x in m.groups())
    return WrkResult(rps, pct[50], pct[90], pct[99], requests, errors)


def wrk(url: str, seconds: float, connections: int, threads: int = 2) -> tuple[WrkResult, str]:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    return parse_wrk(out), out


# --- nginx and the bare server ---------------------------------------------------------------------

NGINX_CONF = """
daemon off;
master_process on;
worker_processes {workers};
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 75s;
    keepalive_requests 1000000;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    types {{ text/javascript js; }}
    charset utf-8;
    charset_types text/javascript;
    server {{
        listen 127.0.0.1:{port} reuseport;
        root {root};
        location = /healthz {{ return 200 "ok"; }}
        location /components/ {{
            etag on;
            add_header Cache-Control "max-age=31536000, immutable";
            add_header Access-Control-Allow-Origin "*";
            add_header Vary "Accept-Encoding";
            add_header X-Content-Type-Options "nosniff";
        }}
    }}
}}
"""


def nginx_server(prefix: Path, root: Path, workers: int) -> ServerProcess:
    prefix.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_CONF.format(workers=workers, prefix=prefix, port=port, root=root))
    return ServerProcess(dict(os.environ), 1, port, prefix / "stdout.log",
                         command=[NGINX or "nginx", "-p", str(prefix), "-c", str(conf),
                                  "-e", str(prefix / "error.log")])


def bare_server(body_path: Path, hash: str, workers: int, log: Path) -> ServerProcess:
    port = free_port()
    return ServerProcess({**os.environ, "PYTHONPATH": str(ROOT)}, 1, port, log, command=[
        sys.executable, "-m", "loadtest.bare_server", "--port", str(port), "--workers", str(workers),
        "--file", str(body_path), "--hash", hash])


# --- the run ------------------------------------------------------------------------------------------

@dataclass
class Bench:
    machine: dict[str, str]
    config: dict[str, Any]
    hot: dict[str, list[WrkResult]] = field(default_factory=dict)
    paired: dict[str, list[float]] = field(default_factory=dict)  # proxy/bare req/s, per back-to-back pair
    cold: dict[str, float] = field(default_factory=dict)
    browser: dict[str, Any] = field(default_factory=dict)
    memory: dict[str, Any] = field(default_factory=dict)


def fetch(base: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", int(base.rsplit(":", 1)[1]), timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


def hot_path(bench: Bench, args: argparse.Namespace, workdir: Path, out_dir: Path, env: dict[str, str]) -> None:
    n = args.workers
    proxy_n = ServerProcess(env, n, log_path=out_dir / "proxy-n.log").start()
    servers: list[ServerProcess] = [proxy_n]
    try:
        source = (SCENES_DIR / "m13_typescript_heavy.tsx").read_text()  # a mid-size scene
        scene = create_compiled(proxy_n.base, [source + "\n// bench hot\n"], 1, "hot")[0]
        proxy_1 = ServerProcess(env, 1, log_path=out_dir / "proxy-1.log").start()
        servers.append(proxy_1)
        path = f"/components/{scene['hash']}.js"
        status, _headers, body = fetch(proxy_1.base, path)
        assert status == 200, status
        static_root = workdir / "static"
        (static_root / "components").mkdir(parents=True)
        for d in (workdir, static_root, static_root / "components"):  # nginx workers run unprivileged
            d.chmod(0o755)
        body_path = static_root / "components" / f"{scene['hash']}.js"
        body_path.write_bytes(body)
        body_path.chmod(0o644)
        bench.config["artifact_bytes"] = len(body)
        for s in (bare_server(body_path, scene["hash"], 1, out_dir / "bare-1.log"),
                  bare_server(body_path, scene["hash"], n, out_dir / "bare-n.log"),
                  nginx_server(workdir / "nginx", static_root, n)):
            s.workers = 1  # readiness: one answer is enough (the bare/nginx supervisors are not psutil-walked)
            servers.append(s.start())
        bare_1, bare_n, nginx = servers[2], servers[3], servers[4]
        for s in servers:  # identical bytes everywhere
            st, _h, b = fetch(s.base, path)
            assert st == 200 and b == body, (s.base, st, len(b), len(body))
        scene_path = f"/api/components/{scene['id']}"
        targets = {
            "proxy 1 worker": proxy_1.base + path,
            "bare aiohttp 1 worker": bare_1.base + path,
            f"proxy {n} workers": proxy_n.base + path,
            f"bare aiohttp {n} workers": bare_n.base + path,
            f"nginx {n} workers": nginx.base + path,
            "proxy 1 worker: /api/components/<id> (302)": proxy_1.base + scene_path,
            f"proxy {n} workers: /api/components/<id> (302)": proxy_n.base + scene_path,
        }
        for url in targets.values():  # warm every worker's L1 and mapping cache
            wrk(url, 2, args.connections)
        # proxy and bare aiohttp run back to back (in alternating order) so each ratio compares two
        # measurements a few seconds apart: on a shared box the load changes faster than a round
        groups: list[list[str]] = [["proxy 1 worker", "bare aiohttp 1 worker"],
                                   [f"proxy {n} workers", f"bare aiohttp {n} workers"],
                                   [f"nginx {n} workers"], ["proxy 1 worker: /api/components/<id> (302)"],
                                   [f"proxy {n} workers: /api/components/<id> (302)"]]
        raw = out_dir / "wrk.txt"
        with raw.open("w") as log:
            for rnd in range(args.rounds):
                for group in groups[rnd % len(groups):] + groups[:rnd % len(groups)]:
                    results: dict[str, WrkResult] = {}
                    for name in (group if rnd % 2 == 0 else group[::-1]):
                        result, text = wrk(targets[name], args.seconds, args.connections)
                        results[name] = result
                        bench.hot.setdefault(name, []).append(result)
                        log.write(f"## round {rnd + 1}: {name} {targets[name]}\n{text}\n")
                        print(f"  round {rnd + 1} {name:<44} {result.rps:9.0f} req/s  p50 {result.p50:6.2f} ms  "
                              f"p99 {result.p99:6.2f} ms  errors {result.errors}")
                    if len(group) == 2:
                        bench.paired.setdefault(group[0], []).append(results[group[0]].rps / results[group[1]].rps)
        cold_path(bench, args, proxy_n, env)
    finally:
        for s in servers:
            s.stop()


def cold_path(bench: Bench, args: argparse.Namespace, server: ServerProcess, env: dict[str, str]) -> None:
    """Sequential first views of never-compiled scenes: GET /api/components/{id} (302) then the artifact,
    on one keep-alive connection as a browser would."""
    sources = scene_sources()
    ids = create_uncompiled(env, [variant(sources, i, f"cold-{time.time_ns()}") for i in range(args.cold_samples)])
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    total: list[float] = []
    redirect: list[float] = []
    try:
        for scene_id in ids:
            t0 = time.perf_counter()
            conn.request("GET", f"/api/components/{scene_id}", headers={"Accept-Encoding": "gzip, br"})
            r = conn.getresponse()
            r.read()
            location = r.getheader("Location")
            assert r.status == 302 and location, (r.status, location)
            t1 = time.perf_counter()
            conn.request("GET", location, headers={"Accept-Encoding": "gzip, br"})
            a = conn.getresponse()
            body = a.read()
            assert a.status == 200 and body, a.status
            t2 = time.perf_counter()
            total.append((t2 - t0) * 1000)
            redirect.append((t1 - t0) * 1000)
    finally:
        conn.close()
    bench.cold = {"samples": len(total), "p50": percentile(total, 50), "p90": percentile(total, 90),
                  "p99": percentile(total, 99), "max": max(total), "redirect_p50": percentile(redirect, 50),
                  "redirect_p99": percentile(redirect, 99)}
    print(f"  cold path: p50 {bench.cold['p50']:.1f} ms  p99 {bench.cold['p99']:.1f} ms  (n={len(total)})")


# --- reporting ----------------------------------------------------------------------------------------

def median_result(results: list[WrkResult]) -> WrkResult:
    return WrkResult(statistics.median(r.rps for r in results), statistics.median(r.p50 for r in results),
                     statistics.median(r.p90 for r in results), statistics.median(r.p99 for r in results),
                     sum(r.requests for r in results), sum(r.errors for r in results))


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def render(bench: Bench) -> str:
    n = bench.config["workers"]
    c = bench.config["connections"]
    m = bench.machine
    lines = [f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']} RAM, Linux {m['kernel']}, Python {m['python']}, "
             f"{m['wrk']}, {m['nginx']}; load average before the run: {m['load_before']} (shared box).",
             f"Hot path: wrk -t2 -c{c} -d{bench.config['seconds']}s --latency, {bench.config['rounds']} interleaved "
             "rounds (proxy and bare aiohttp back to back), median per target; "
             f"artifact {bench.config.get('artifact_bytes', 0)} bytes, identity encoding.",
             "",
             "| target | req/s | p50 ms | p90 ms | p99 ms | errors | vs bare aiohttp (same workers, paired) "
             "| vs nginx |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    med = {k: median_result(v) for k, v in bench.hot.items()}
    nginx = med.get(f"nginx {n} workers")
    for name, r in med.items():
        workers = "1 worker" if "1 worker" in name else f"{n} workers"
        pairs = bench.paired.get(name)
        vs_bare = f"{statistics.median(pairs):.0%}" if pairs else ""
        vs_nginx = f"{r.rps / nginx.rps:.0%}" if nginx else ""
        lines.append(f"| {name} | {r.rps:.0f} | {r.p50:.2f} | {r.p90:.2f} | {r.p99:.2f} | {r.errors} | {vs_bare} "
                     f"| {vs_nginx} |")
    lines.append("")
    lines.append("| target | measured | goal | verdict |")
    lines.append("|---|---|---|---|")
    for workers in ("1 worker", f"{n} workers"):
        p, pairs = med.get(f"proxy {workers}"), bench.paired.get(f"proxy {workers}")
        if p and pairs:
            ratio = statistics.median(pairs)
            spread = ", ".join(f"{x:.0%}" for x in pairs)
            lines.append(f"| hot artifact req/s, proxy {workers} / bare aiohttp (median of back-to-back pairs: "
                         f"{spread}) | {ratio:.0%} | >= 70% | {verdict(ratio >= 0.7)} |")
            lines.append(f"| hot artifact p99 at {c} connections, proxy {workers} | {p.p99:.2f} ms | < 10 ms | "
                         f"{verdict(p.p99 < 10)} |")
        s = med.get(f"proxy {workers}: /api/components/<id> (302)")
        if s:
            lines.append(f"| warm /api/components/<id> p99, proxy {workers} | {s.p99:.2f} ms | < 10 ms | "
                         f"{verdict(s.p99 < 10)} |")
    if bench.cold:
        cold = bench.cold
        lines.append(f"| cold path p50 (n={cold['samples']}, {n} workers) | {cold['p50']:.1f} ms "
                     f"(302 alone {cold['redirect_p50']:.1f}) | < 30 ms | {verdict(cold['p50'] < 30)} |")
        lines.append(f"| cold path p99 | {cold['p99']:.1f} ms (302 alone {cold['redirect_p99']:.1f}) | < 150 ms | "
                     f"{verdict(cold['p99'] < 150)} |")
    if bench.browser:
        from loadtest.bench_browser import render_rows

        lines += render_rows(bench.browser)
    if bench.memory:
        from loadtest.bench_memory import render_rows as memory_rows

        lines += memory_rows(bench.memory)
    if bench.browser:
        from loadtest.bench_browser import render_detail

        lines += ["", *render_detail(bench.browser)]
    return "\n".join(lines)


def chart(bench: Bench, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    med = {k: median_result(v) for k, v in bench.hot.items()}
    panels = 2 + bool(bench.browser)
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 5.2))
    names = list(med)
    labels = [n.replace(": /api/components/<id> (302)", "\n302 route").replace(" workers", "w").replace(" worker", "w")
              for n in names]
    colors = ["#7c3aed" if n.startswith("proxy") else "#0ea5e9" if n.startswith("bare") else "#16a34a" for n in names]
    ax = axes[0]
    ax.barh(labels, [med[n].rps for n in names], color=colors)
    ax.invert_yaxis()
    ax.set_xlabel("requests/s (median per target)")
    ax.set_title(f"Hot path, {bench.config['connections']} connections")
    for i, n in enumerate(names):
        ax.text(med[n].rps, i, f" {med[n].rps:.0f}  p99 {med[n].p99:.1f} ms", va="center", fontsize=8)
    ax.set_xlim(0, max(med[n].rps for n in names) * 1.45)
    ax = axes[1]
    cold = bench.cold
    if cold:
        ax.bar(["cold p50", "cold p99", "302 p50", "302 p99"],
               [cold["p50"], cold["p99"], cold["redirect_p50"], cold["redirect_p99"]],
               color=["#f97316", "#ea580c", "#fdba74", "#fb923c"])
        ax.axhline(30, color="grey", ls="--", lw=1)
        ax.axhline(150, color="grey", ls=":", lw=1)
        ax.set_ylabel("ms")
        ax.set_title("Cold path: never-compiled scene, end to end\n(dashed: p50 goal 30 ms, dotted: p99 goal 150 ms)")
    if bench.browser:
        from loadtest.bench_browser import chart_panel

        chart_panel(axes[2], bench.browser)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="N (default: CPU count)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--cold-samples", type=int, default=200)
    p.add_argument("--browser-reps", type=int, default=7)
    p.add_argument("--memory-artifacts", type=int, default=10_000)
    p.add_argument("--skip-hot", action="store_true")
    p.add_argument("--skip-browser", action="store_true")
    p.add_argument("--skip-memory", action="store_true")
    p.add_argument("--chart", type=Path, default=CHART)
    p.add_argument("--results", type=Path, default=None)
    args = p.parse_args()
    # the hot path needs both: wrk drives the load, nginx serves the same file as the baseline
    missing = [name for name, found in (("wrk", shutil.which("wrk")), ("nginx", NGINX)) if found is None]
    if missing and not args.skip_hot:
        print(f"{' and '.join(missing)} not installed: `make bench` installs what is missing "
              "(apt-get install -y wrk nginx-light), or pass --skip-hot", file=sys.stderr)
        return 2
    out_dir = args.results or RESULTS / time.strftime("%Y%m%d-%H%M%S-bench")
    out_dir.mkdir(parents=True, exist_ok=True)
    bench = Bench(machine(), {"workers": args.workers, "connections": args.connections, "rounds": args.rounds,
                              "seconds": args.seconds, "argv": " ".join(sys.argv[1:])})
    workdir = temp_workdir("bench-")
    try:
        with backend("embedded", workdir / "data") as be:
            env = server_env(be.env)
            if not args.skip_hot:
                print("hot path and cold path")
                hot_path(bench, args, workdir, out_dir, env)
        if not args.skip_browser:
            from loadtest.bench_browser import run_browser_bench

            print("browser: old client-side Sucrase vs import() from the proxy")
            bench.browser = run_browser_bench(workdir / "browser", out_dir, args.browser_reps)
        if not args.skip_memory:
            from loadtest.bench_memory import run_memory_bench

            print(f"memory: one worker, {args.memory_artifacts} distinct artifacts")
            bench.memory = run_memory_bench(workdir / "memory", out_dir, args.memory_artifacts)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    bench.machine["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    table = render(bench)
    (out_dir / "benchmarks.md").write_text(table + "\n")
    (out_dir / "benchmarks.json").write_text(json.dumps(asdict(bench), indent=2, default=str))
    if bench.hot:
        chart(bench, args.chart)
        print(f"chart: {args.chart}")
    print(table)
    print(f"results: {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
