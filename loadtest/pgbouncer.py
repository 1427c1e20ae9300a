"""A real PgBouncer in transaction mode in front of a PostgreSQL server (what Neon's pooled URL is),
for the test suite and the load test's pooled backend. Debian's `pgbouncer` package provides it."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


BINARY_PLACES = ("pgbouncer", "/usr/sbin/pgbouncer")


@dataclass
class Pgbouncer:
    port: int
    proc: subprocess.Popen[bytes]
    workdir: Path

    def pooled(self, dsn: str) -> str:
        """`dsn`'s database through the pooler (the convention Prisma users know marks it)."""
        parts = urlsplit(dsn)
        netloc = f"{parts.username or 'postgres'}@127.0.0.1:{self.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, "pgbouncer=true", ""))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _binary() -> str:
    for place in BINARY_PLACES:
        found = shutil.which(place)
        if found:
            return found
    raise FileNotFoundError("pgbouncer is not installed: apt-get install pgbouncer (make test does)")


def start_pgbouncer(upstream_host: str = "127.0.0.1", upstream_port: int = 5432) -> Pgbouncer:
    workdir = Path(tempfile.mkdtemp(prefix="ap-pgbouncer-"))
    port = free_port()
    (workdir / "users.txt").write_text('"postgres" ""\n')
    (workdir / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={upstream_host} port={upstream_port}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {workdir / 'users.txt'}\n"
        "pool_mode = transaction\ndefault_pool_size = 4\nmax_client_conn = 500\n"
        # asyncpg sends these at connect; PgBouncer forwards only what it knows
        "ignore_startup_parameters = extra_float_digits\n"
        "server_reset_query =\nlog_connections = 0\nlog_disconnections = 0\n"
    )
    user: list[str] = []
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        owner = pwd.getpwnam("postgres")
        for path in (workdir, *workdir.iterdir()):
            os.chown(path, owner.pw_uid, owner.pw_gid)
        user = ["-u", "postgres"]
    proc = subprocess.Popen([_binary(), *user, str(workdir / "pgbouncer.ini")], stdout=subprocess.DEVNULL,
                            stderr=open(workdir / "stderr.log", "wb"))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"pgbouncer exited: {(workdir / 'stderr.log').read_text()[-500:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return Pgbouncer(port, proc, workdir)
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("pgbouncer did not listen within 10 s")
