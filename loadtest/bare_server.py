"""The framework ceiling: a bare aiohttp handler returning the same artifact bytes with the same
headers as the proxy's hot path, on the same worker model (N processes sharing the port with
SO_REUSEPORT, uvloop, no access log, no middleware).

    python -m loadtest.bare_server --port P --workers N --file artifact.js --hash HASH
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import signal
import sys
import time
from pathlib import Path

from aiohttp import web

IMMUTABLE = "max-age=31536000, immutable"


def make_app(body: bytes, hash: str) -> web.Application:
    headers = {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Expose-Headers": "ETag, Location, X-Compilation-Error, X-Artifact-Hash, Retry-After",
        "Cache-Control": IMMUTABLE, "ETag": f'"{hash}"', "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff", "Content-Type": "text/javascript; charset=utf-8",
    }

    async def artifact(request: web.Request) -> web.Response:
        return web.Response(body=body, headers=headers)

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/components/{name}", artifact)
    app.router.add_get("/healthz", health)
    return app


def _worker(port: int, body: bytes, hash: str, reuse_port: bool) -> None:
    import uvloop

    uvloop.install()
    web.run_app(make_app(body, hash), host="127.0.0.1", port=port, reuse_port=reuse_port or None,
                access_log=None, print=None, handle_signals=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--file", type=Path, required=True)
    p.add_argument("--hash", required=True)
    args = p.parse_args()
    body = args.file.read_bytes()
    if args.workers == 1:
        _worker(args.port, body, args.hash, False)
        return 0
    mp = multiprocessing.get_context("spawn")
    procs = [mp.Process(target=_worker, args=(args.port, body, args.hash, True)) for _ in range(args.workers)]
    for proc in procs:
        proc.start()
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping and all(proc.is_alive() for proc in procs):
        time.sleep(0.2)
    for proc in procs:
        if proc.is_alive() and proc.pid:
            os.kill(proc.pid, signal.SIGTERM)
    for proc in procs:
        proc.join(10)
    return 0


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    sys.exit(main())
