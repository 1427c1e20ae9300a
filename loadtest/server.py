"""Servers and back-ends for load tests and benchmarks: the real `artifact-proxy serve` in a
subprocess, on the embedded defaults (SQLite + a local directory) or on the production back-ends
(PostgreSQL database created and dropped here, Redis with a unique key prefix, moto_server as S3).

Everything listens on 127.0.0.1 only; every wait is bounded."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
SCENES_DIR = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "scenes"
# ten realistic scenes from the compiler's fixture corpus, module and globals style
LOADTEST_SCENES = [
    "g01_window_remotion.tsx",
    "g04_aliases.tsx",
    "g14_lucide_window.tsx",
    "g22_product_launch_long.tsx",
    "m01_title_card.tsx",
    "m02_counter_hooks.tsx",
    "m03_sequences.tsx",
    "m04_lucide_features.tsx",
    "m13_typescript_heavy.tsx",
    "m19_colors_easing.tsx",
]
TOKEN = "loadtest-admin-token"  # a throwaway admin token for a server bound to 127.0.0.1 only
PG_ADMIN_DSN = os.environ.get("LOADTEST_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("LOADTEST_REDIS_URL", "redis://127.0.0.1:6379/0")
S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",  # emulator dummies
          "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None, what: str = "server") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status < 500:
                    return
        except urllib.error.HTTPError as e:
            if e.code < 500:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer {url} within {timeout:.0f}s")


# --- back-ends ------------------------------------------------------------------------------------

@dataclass
class Backend:
    """PROXY_* settings for a server plus what to clean up afterwards."""

    kind: str  # "embedded" or "production"
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    _cleanup: list[object] = field(default_factory=list, repr=False)


def _pg(sql: str, dsn: str = PG_ADMIN_DSN) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            await conn.execute(sql, timeout=30)
        finally:
            await conn.close()

    asyncio.run(run())


@contextlib.contextmanager
def backend(kind: str, workdir: Path) -> Iterator[Backend]:
    """embedded: SQLite + ./artifacts under workdir. production: a fresh PostgreSQL database,
    Redis with a unique key prefix, and moto_server (S3) on a free loopback port. pooled: production
    with the database reached through a transaction-mode PgBouncer (LISTEN and migrations direct)."""
    workdir.mkdir(parents=True, exist_ok=True)
    if kind == "embedded":
        yield Backend(kind, workdir, {"PROXY_DATABASE_URL": f"sqlite:///{workdir / 'proxy.sqlite3'}",
                                      "PROXY_STORAGE_URL": f"file://{workdir / 'artifacts'}"})
        return
    if kind not in ("production", "pooled"):
        raise ValueError(f"unknown backend {kind!r}: embedded, production or pooled")
    bouncer = None
    db = f"ap_loadtest_{os.getpid()}_{secrets.token_hex(4)}"
    prefix = f"loadtest-{secrets.token_hex(4)}:"
    moto_port = free_port()
    moto_log = open(workdir / "moto.log", "wb")
    moto = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)],
                            stdout=moto_log, stderr=subprocess.STDOUT, env={**os.environ, **S3_ENV},
                            start_new_session=True)
    try:
        _pg(f'CREATE DATABASE "{db}" TEMPLATE template0')
        endpoint = f"http://127.0.0.1:{moto_port}"
        wait_http(endpoint + "/moto-api/data.json", 30, moto, "moto_server")
        import boto3

        bucket = f"loadtest-{secrets.token_hex(4)}"
        boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="testing", aws_secret_access_key="testing",
                     region_name="us-east-1").create_bucket(Bucket=bucket)
        dsn = PG_ADMIN_DSN.rsplit("/", 1)[0] + "/" + db
        database = {"PROXY_DATABASE_URL": dsn}
        if kind == "pooled":
            from loadtest.pgbouncer import start_pgbouncer

            pg = urlsplit(PG_ADMIN_DSN)
            bouncer = start_pgbouncer(pg.hostname or "127.0.0.1", pg.port or 5432)
            database = {"PROXY_DATABASE_URL": bouncer.pooled(dsn), "PROXY_DATABASE_DIRECT_URL": dsn}
        yield Backend(kind, workdir, {
            **database, "PROXY_STORAGE_URL": f"s3://{bucket}/components",
            "PROXY_S3_ENDPOINT_URL": endpoint, "PROXY_REDIS_URL": REDIS_URL, "PROXY_REDIS_KEY_PREFIX": prefix,
            **S3_ENV})
    finally:
        if bouncer is not None:
            bouncer.stop()
        with contextlib.suppress(Exception):
            _pg(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        with contextlib.suppress(Exception):
            import redis

            client = redis.Redis.from_url(REDIS_URL)
            keys = list(client.scan_iter(match=prefix + "*", count=1000))
            for i in range(0, len(keys), 500):
                client.delete(*keys[i:i + 500])
            client.close()
        if moto.poll() is None:
            os.killpg(moto.pid, signal.SIGTERM)
            try:
                moto.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(moto.pid, signal.SIGKILL)
                moto.wait(5)
        moto_log.close()


# --- the server -----------------------------------------------------------------------------------

def server_env(backend_env: dict[str, str], **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROXY_")}
    env.update({"PROXY_ADMIN_TOKEN": TOKEN, "PROXY_LOG_LEVEL": "WARNING"})
    env.update(backend_env)
    env.update(extra)
    return env


@dataclass
class ServerProcess:
    """`python -m proxy serve` (or any command) in its own session; stop() ends the whole group."""

    env: dict[str, str]
    workers: int = 1
    port: int = 0
    log_path: Path | None = None
    command: list[str] | None = None
    health_path: str = "/healthz"
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> ServerProcess:
        self.port = self.port or free_port()
        cmd = self.command or [sys.executable, "-m", "proxy", "serve", "--host", "127.0.0.1",
                               "--port", str(self.port), "--workers", str(self.workers)]
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=log, start_new_session=True)
        try:
            wait_http(self.base + self.health_path, timeout, self.proc, f"server ({self.log_path})")
            if self.workers > 1:  # every worker must be listening before a benchmark starts
                self.wait_workers(timeout)
        except Exception:
            self.stop()
            raise
        return self

    def wait_workers(self, timeout: float) -> None:

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            listening = [p for p in self.python_processes() if _listens(p, self.port)]
            if len(listening) >= self.workers:
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.workers} workers were not listening on {self.port} within {timeout:.0f}s")

    def processes(self) -> list[object]:
        """The server process and all its descendants (workers, compiler processes)."""
        import psutil

        if self.proc is None or self.proc.poll() is not None:
            return []
        try:
            root = psutil.Process(self.proc.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def python_processes(self) -> list[object]:
        import psutil

        out = []
        for p in self.processes():
            try:
                if "python" in p.name():  # type: ignore[attr-defined]
                    out.append(p)
            except psutil.Error:
                pass
        return out

    def worker_processes(self) -> list[object]:
        """The processes that serve HTTP (the workers; the single process when workers == 1)."""
        return [p for p in self.python_processes() if _listens(p, self.port)]

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(5)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _listens(p: object, port: int) -> bool:
    import psutil

    try:
        return any(c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN
                   for c in p.net_connections("tcp"))  # type: ignore[attr-defined]
    except psutil.Error:
        return False


# --- scenes -----------------------------------------------------------------------------------------

def scene_sources() -> list[str]:
    """Ten realistic scenes (module and globals style) from the compiler fixtures."""
    return [(SCENES_DIR / name).read_text() for name in LOADTEST_SCENES]


def variant(sources: list[str], i: int, tag: str = "v") -> str:
    """Scene i: one of the templates plus a unique comment, so every variant has its own hash."""
    return f"{sources[i % len(sources)]}\n// loadtest {tag} {i}\n"


def _json_request(base: str, method: str, path: str, body: dict[str, object] | None = None,
                  timeout: float = 30.0) -> dict[str, object]:
    import json

    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method, headers={
        "Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())  # type: ignore[no-any-return]


def create_compiled(base: str, codes: list[str], concurrency: int = 4, tag: str = "",
                    project_id: str | None = None) -> list[dict[str, str]]:
    """POST /api/scenes for each code (compile on write); returns [{id, hash}] in order."""
    from concurrent.futures import ThreadPoolExecutor

    def one(code: str) -> dict[str, str]:
        body: dict[str, object] = {"name": f"loadtest {tag}", "tsxCode": code}
        if project_id is not None:
            body["projectId"] = project_id
        meta = _json_request(base, "POST", "/api/scenes", body)
        if meta.get("status") != "ready":
            raise RuntimeError(f"seeded scene did not compile: {meta}")
        return {"id": str(meta["id"]), "hash": str(meta["compiledHash"])}

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, codes))


def create_uncompiled(env: dict[str, str], codes: list[str]) -> list[str]:
    """Insert scenes straight into the database, as the product does: no compile, no artifact."""
    from config.settings import Settings
    from proxy.db import create_repository

    settings = Settings(database_url=env["PROXY_DATABASE_URL"],
                        database_direct_url=env.get("PROXY_DATABASE_DIRECT_URL"))

    async def run() -> list[str]:
        repo = create_repository(settings)
        try:
            await repo.migrate()
            ids = []
            for code in codes:
                scene_id = uuid.uuid4()
                await repo.create(scene_id, code, "loadtest first view", uuid.uuid4())
                ids.append(str(scene_id))
            return ids
        finally:
            await repo.close()

    return asyncio.run(run())


def temp_workdir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))
