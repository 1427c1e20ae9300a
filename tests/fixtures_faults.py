"""Shared pieces of the fault and abuse tests: stoppable dependencies, scenes, process inspection."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import pytest
import redis

from tests.fixtures_server import TOKEN
from tests.tcp_proxy import TcpProxy, free_port

AUTH = {"Authorization": f"Bearer {TOKEN}"}

SCENE = """import {{ AbsoluteFill }} from 'remotion';
export default function Scene() {{
  return <AbsoluteFill><h1>{text}</h1></AbsoluteFill>;
}}
"""


def scene(tag: str | None = None) -> str:
    """A small valid scene; a distinct tag gives a distinct artifact hash."""
    return SCENE.format(text=f"reliability {tag or uuid.uuid4().hex}")


def with_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    hostport = f"127.0.0.1:{port}"
    return urlunsplit((parts.scheme, f"{netloc[0]}@{hostport}" if len(netloc) == 2 else hostport,
                       parts.path, parts.query, parts.fragment))


def port_of(url: str, default: int) -> int:
    return urlsplit(url).port or default


# --- processes -----------------------------------------------------------------------------------

def children(pid: int) -> dict[int, str]:
    """Every live descendant of `pid` (pid -> command name), read from /proc."""
    parent_of: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1: stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] == "Z":  # a zombie is not a leak of a running process, but is reported below
            name += " <zombie>"
        parent_of[int(entry)] = int(fields[1])
        names[int(entry)] = name
    found: dict[int, str] = {}
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        for child, parent in parent_of.items():
            if parent == current and child not in found:
                found[child] = names[child]
                frontier.append(child)
    return found


def node_children(pid: int) -> list[int]:
    return sorted(p for p, name in children(pid).items() if name.startswith("node"))


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


# --- dependencies ----------------------------------------------------------------------------------

@pytest.fixture
def tcp_proxy() -> Iterator[Callable[[int], TcpProxy]]:
    """tcp_proxy(target_port) -> a started TcpProxy on a free port, closed at teardown."""
    made: list[TcpProxy] = []

    def make(target_port: int) -> TcpProxy:
        proxy = TcpProxy(target_port).start()
        made.append(proxy)
        return proxy

    yield make
    for proxy in made:
        proxy.close()


class PrivateRedis:
    """A redis-server of this test's own (never the machine's), on a fixed port: stop() and start()."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2, socket_connect_timeout=2)

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (make services installs it)")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory), "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def up() -> bool:
            try:
                return bool(self.client().ping())
            except redis.RedisError:
                return False

        if not wait_until(up, 10):
            self.stop()
            pytest.fail(f"private redis-server did not start on {self.port}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)  # an outage, not a clean shutdown
            proc.wait(10)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session
