"""A real Varnish 7 with the shipped configuration (ops/varnish/default.vcl) in front of a proxy, for the
test suite and the edge benchmark. Debian's `varnish` package provides it (scripts/ensure-services.sh).

Only backend.vcl and purgers.vcl are written here (the proxy's port, the allowed purgers); the main
VCL is the production file itself.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from loadtest.pgbouncer import free_port

ROOT = Path(__file__).resolve().parents[1]
VCL_DIR = ROOT / "ops" / "varnish"
BINARY_PLACES = ("varnishd", "/usr/sbin/varnishd")


def _binary(name: str, places: tuple[str, ...]) -> str:
    for place in places:
        found = shutil.which(place)
        if found:
            return found
    raise FileNotFoundError(f"{name} is not installed: apt-get install varnish (make test does)")


def write_vcl(directory: Path, backend_port: int, purgers: tuple[str, ...] = ("127.0.0.1", "::1")) -> Path:
    """The shipped default.vcl next to a backend.vcl and purgers.vcl for this test; returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(VCL_DIR / "default.vcl", directory / "default.vcl")
    backend = (VCL_DIR / "backend.vcl").read_text().replace('.port = "8080"', f'.port = "{backend_port}"')
    (directory / "backend.vcl").write_text(backend)
    entries = "".join(f'    "{p}";\n' for p in purgers)
    (directory / "purgers.vcl").write_text(f"acl purgers {{\n{entries}}}\n")
    return directory / "default.vcl"


@dataclass
class Varnish:
    port: int
    backend_port: int
    workdir: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _vcls: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def purge_url(self) -> str:
        """PROXY_EDGE_PURGE for the proxy nodes."""
        return f"varnish://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> Varnish:
        vcl = write_vcl(self.workdir / "vcl", self.backend_port)
        log = open(self.workdir / "varnishd.log", "ab")
        self.proc = subprocess.Popen(
            [_binary("varnishd", BINARY_PLACES), "-F", "-j", "none", "-n", str(self.workdir / "n"),
             "-a", f"127.0.0.1:{self.port}", "-T", "127.0.0.1:0", "-f", str(vcl), "-s", "malloc,64m",
             # a small machine shared with the tests: few threads; bans checked by the lurker often
             "-p", "thread_pools=1", "-p", "thread_pool_min=8", "-p", "thread_pool_max=200",
             "-p", "ban_lurker_sleep=0.1"],
            stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"varnishd exited: {(self.workdir / 'varnishd.log').read_text()[-800:]}")
            try:
                self.adm("ping")
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except (OSError, RuntimeError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("varnishd did not answer within the timeout")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def adm(self, *args: str) -> str:
        out = subprocess.run(["varnishadm", "-n", str(self.workdir / "n"), *args], capture_output=True,
                             text=True, timeout=15, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"varnishadm {' '.join(args)}: {out.stdout}{out.stderr}")
        return out.stdout

    def use_purgers(self, *purgers: str) -> None:
        """Load and switch to the same VCL with another purge ACL (an empty one refuses every purge)."""
        self._vcls += 1
        name = f"acl{self._vcls}"
        vcl = write_vcl(self.workdir / name, self.backend_port, purgers or ("192.0.2.1",))
        self.adm("vcl.load", name, str(vcl))
        self.adm("vcl.use", name)

    def counter(self, name: str) -> int:
        """One varnishstat counter, e.g. MAIN.bans_added or MAIN.backend_req."""
        out = subprocess.run(["varnishstat", "-n", str(self.workdir / "n"), "-1", "-f", name],
                             capture_output=True, text=True, timeout=15, check=True).stdout
        m = re.search(rf"^{re.escape(name)}\s+(\d+)", out, re.M)
        return int(m.group(1)) if m else 0


def start_varnish(backend_port: int, port: int | None = None) -> Varnish:
    workdir = Path(tempfile.mkdtemp(prefix="ap-varnish-"))
    return Varnish(port or free_port(), backend_port, workdir).start()
