"""`artifact-proxy serve|migrate|compile|backfill`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import time
from typing import Any

from cache.board import create_board_file
from config import ConfigError, Settings, load_settings

log = logging.getLogger("artifact_proxy.cli")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="artifact-proxy", description="Compile TSX scenes; serve them as ES modules.")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="run the HTTP server (runs migrate first)")
    s.add_argument("--host", default=None)
    s.add_argument("--port", type=int, default=None)
    s.add_argument("--workers", type=int, default=None, help="processes sharing the port (default: CPU count)")
    sub.add_parser("migrate", help="create or upgrade the schema (idempotent)")
    c = sub.add_parser("compile", help="compile one scene to stdout")
    c.add_argument("file", help="a .tsx file, or - for stdin")
    c.add_argument("--map", dest="map_path", default=None,
                   help="also write the source map here (the module's comment names it <hash>.js.map)")
    b = sub.add_parser("backfill", help="compile every scene without a current artifact")
    b.add_argument("--batch-size", type=int, default=100)
    b.add_argument("--concurrency", type=int, default=8)
    b.add_argument("--dry-run", action="store_true")
    b.add_argument("--limit", type=int, default=None)
    b.add_argument("--report", default="data/backfill-failures.jsonl", help="where failed ids and errors go")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as e:
        print(f"artifact-proxy: configuration error: {e}", file=sys.stderr)
        return 2
    from proxy import logs

    logs.configure(settings.log_level)
    if args.command == "serve":
        return serve(settings, args.host or settings.host, args.port if args.port is not None else settings.port,
                     args.workers or settings.workers or os.cpu_count() or 1)
    if args.command == "migrate":
        if not _migrate_or_say_why(settings):
            return 1
        print("schema is up to date")
        return 0
    if args.command == "compile":
        from proxy.compiler.cli_compile import run

        return run(args.file, settings, args.map_path)
    if args.command == "backfill":
        from proxy.backfill_cli import run_backfill

        return run_backfill(settings, batch_size=args.batch_size, concurrency=args.concurrency,
                            dry_run=args.dry_run, limit=args.limit, report_path=args.report)
    return 2


async def _migrate(settings: Settings) -> None:
    from proxy.db import create_repository

    repo = create_repository(settings)
    try:
        await repo.migrate()
    finally:
        await repo.close()


# --- serve --------------------------------------------------------------------------------------------

def _migrate_or_say_why(settings: Settings) -> bool:
    """Migrate; on failure print one line an operator can act on (no traceback) and return False."""
    from proxy.db import SchemaMismatch

    try:
        asyncio.run(_migrate(settings))
    except SchemaMismatch as e:
        print(f"artifact-proxy: the scene table does not fit: {e}", file=sys.stderr)
        return False
    except Exception as e:  # the one place start-up failure becomes a clear line, not a traceback
        print(f"artifact-proxy: cannot migrate the database: {type(e).__name__}: {e}", file=sys.stderr)
        return False
    return True


def serve(settings: Settings, host: str, port: int, workers: int) -> int:
    if not _migrate_or_say_why(settings):
        return 1
    if workers == 1:
        _run_worker(settings, host, port, reuse_port=False)
        return 0
    state_dir = tempfile.mkdtemp(prefix="artifact-proxy-")
    # every worker writes its metrics to files here; /metrics in any worker adds them up
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.path.join(state_dir, "metrics")
    os.mkdir(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    # edits through any worker expire the other workers' cached mappings at once
    settings = settings.model_copy(update={"invalidation_board": create_board_file(state_dir)})
    try:
        return _supervise(settings, host, port, workers)
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


def _supervise(settings: Settings, host: str, port: int, workers: int) -> int:
    """Run N workers on one port (SO_REUSEPORT: the kernel balances connections), restart any that die,
    and pass SIGTERM/SIGINT on so each finishes its in-flight requests."""
    mp = multiprocessing.get_context("spawn")
    stopping = False

    def start(index: int) -> Any:
        # one worker per machine listens for the product's writes; the board tells the others
        worker = settings.model_copy(update={"database_listen": settings.database_listen and index == 0})
        proc = mp.Process(target=_run_worker, args=(worker, host, port, True), daemon=False)
        proc.start()
        return proc

    def stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for proc in procs:
            if proc.is_alive() and proc.pid:
                os.kill(proc.pid, signal.SIGTERM)

    procs = [start(i) for i in range(workers)]
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("serving", extra={"event": "start", "host": host, "port": port, "workers": workers})
    while not stopping:
        time.sleep(0.2)
        for i, proc in enumerate(procs):
            if not proc.is_alive() and not stopping:
                log.error("worker exited; restarting", extra={"event": "worker_exit", "code": proc.exitcode})
                _forget_worker_metrics(proc.pid)
                procs[i] = start(i)
    deadline = time.monotonic() + settings.shutdown_timeout_seconds + 5
    for proc in procs:
        proc.join(max(0.0, deadline - time.monotonic()))
        if proc.is_alive():
            proc.kill()
    return 0


def _forget_worker_metrics(pid: int | None) -> None:
    """A dead worker's live gauges (L1 bytes) must stop counting toward the sum."""
    if pid and os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def _run_worker(settings: Settings, host: str, port: int, reuse_port: bool) -> None:
    from aiohttp import web
    from aiohttp.web_runner import GracefulExit

    from proxy import logs
    from proxy.app import create_app

    logs.configure(settings.log_level)
    try:
        import uvloop

        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    except ImportError:  # pragma: no cover - uvloop is a dependency; this keeps other platforms running
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def stop_once() -> None:
        # A worker may get SIGTERM twice (from a process-group kill and from the supervisor); a second
        # GracefulExit would abort the clean-up that finishes in-flight requests and closes the pools.
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
            signal.signal(sig, signal.SIG_IGN)
        raise GracefulExit()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_once)
    web.run_app(
        create_app(settings), host=host, port=port, reuse_port=reuse_port or None, loop=loop,
        access_log=logging.getLogger("aiohttp.access") if settings.access_log else None,
        shutdown_timeout=settings.shutdown_timeout_seconds, print=None, handle_signals=False)
