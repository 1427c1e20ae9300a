"""python -m loadtest run|soak: see loadtest/runner.py and loadtest/soak.py (benchmarks: loadtest.bench_http)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from loadtest.runner import RunConfig, render, run
from loadtest.soak import soak


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=["embedded", "production", "pooled"], default="embedded",
                   help="embedded: SQLite + local dir; production: PostgreSQL + Redis + S3 (moto_server)")
    p.add_argument("--workers", type=int, default=2, help="server worker processes")
    p.add_argument("--scenes", type=int, default=500, help="compiled scenes under the Zipf popularity")
    p.add_argument("--projects", type=int, default=20, help="projects of 10 scenes for the shared-player users")
    p.add_argument("--zipf-s", type=float, default=1.0, help="Zipf exponent (0 = uniform)")
    p.add_argument("--mixed-users", type=int, default=32, help="locust users in the mixed phase / the soak")
    p.add_argument("--results", type=Path, default=None, help="output directory (default loadtest/results/<stamp>)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="a server setting, e.g. --set mapping_ttl_seconds=600 (becomes PROXY_MAPPING_TTL_SECONDS)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="seed, serve, run locust headless in phases, check the targets")
    _common(r)
    r.add_argument("--users", type=int, default=24, help="locust users in the warm-up and Zipf phases")
    r.add_argument("--warmup", type=float, default=15, help="seconds of unmeasured Zipf traffic first")
    r.add_argument("--zipf-seconds", type=float, default=60)
    r.add_argument("--mixed-seconds", type=float, default=60)
    r.add_argument("--no-latency-targets", action="store_true", help="check failures and hit ratio only")
    s = sub.add_parser("soak", help="long mixed run; RSS and open fds of the server processes must stay flat")
    _common(s)
    s.add_argument("--duration", type=float, default=600, help="seconds (default 10 minutes)")
    s.add_argument("--interval", type=float, default=5, help="seconds between samples")
    args = parser.parse_args(argv)
    cfg = RunConfig(backend=args.backend, workers=args.workers, scenes=args.scenes, projects=args.projects,
                    zipf_s=args.zipf_s,
                    mixed_users=args.mixed_users, results=args.results,
                    server_settings={f"PROXY_{k.upper()}": v for k, _, v in (x.partition("=") for x in args.set)})
    if args.command == "soak":
        return 0 if soak(cfg, args.duration, args.interval) else 1
    cfg.users, cfg.warmup_seconds = args.users, args.warmup
    cfg.zipf_seconds, cfg.mixed_seconds = args.zipf_seconds, args.mixed_seconds
    cfg.check_latency = not args.no_latency_targets
    result = run(cfg)
    print(render(result))
    print(f"results: {result.directory}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
