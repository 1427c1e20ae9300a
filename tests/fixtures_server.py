"""Real server processes (`artifact-proxy serve`) for tests that cross process boundaries."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "test-admin-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    port: int
    env: dict[str, str]
    workers: int = 1
    log_path: Path | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> ServerProcess:
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "proxy", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(self.workers)],
            cwd=ROOT, env=self.env, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; log: {self.log_path}")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"server on {self.port} did not answer within {timeout}s; log: {self.log_path}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        os.killpg(self.proc.pid, sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(5)


def server_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROXY_")}
    env.update({"PROXY_ADMIN_TOKEN": TOKEN, "PROXY_COMPILE_WORKERS": "1", "PROXY_LOG_LEVEL": "WARNING"})
    env.update({f"PROXY_{k.upper()}": v for k, v in settings.items()})
    return env


@pytest.fixture
def spawn_server(tmp_path: Path) -> Iterator[object]:
    """spawn_server(workers=1, **PROXY_settings) -> a started ServerProcess, stopped at teardown."""
    started: list[ServerProcess] = []

    def spawn(workers: int = 1, port: int | None = None, **settings: str) -> ServerProcess:
        server = ServerProcess(port or free_port(), server_env(**settings), workers,
                               tmp_path / f"server-{len(started)}.log")
        started.append(server)
        return server.start()

    yield spawn
    for server in started:
        server.stop(signal.SIGKILL if server.proc and server.proc.poll() is None else signal.SIGTERM)
