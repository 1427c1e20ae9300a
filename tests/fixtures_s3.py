"""A real S3 endpoint for tests: `moto_server` in a subprocess, reached over HTTP (boto3 is never
patched in-process).

Fixtures
--------
s3_server          (session)  endpoint URL (str) of a shared moto server on a free loopback port
s3_credentials     (function) dummy AWS credentials/region in the environment (monkeypatched)
s3_bucket          (function) name of a fresh, empty bucket on `s3_server`
s3_client          (function) a boto3 S3 client for `s3_server` (for assertions: head_object, ...)
s3_settings        (function) config.Settings with storage_url=s3://<s3_bucket>/components and
                              s3_endpoint_url=<s3_server>
s3_server_control  (function) a dedicated MotoServer (own port) with stop()/start()/restart(),
                              endpoint_url, create_bucket(), settings(); for outage tests.
                              Moto keeps data in memory: a restart starts empty.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from config.settings import Settings

DUMMY_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",  # a dummy credential for the emulator
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
# Variables that could redirect boto3 away from the emulator or change its credentials.
_CLEARED_ENV = (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
)


def free_port() -> int:
    """A loopback TCP port with nothing listening on it (at the time of the call)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _moto_command(port: int) -> list[str]:
    script = Path(sys.executable).parent / "moto_server"
    if script.exists():
        return [str(script), "-H", "127.0.0.1", "-p", str(port)]
    return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]


class MotoServer:
    """A moto_server subprocess on a fixed loopback port; can be stopped and started again."""

    def __init__(self, port: int | None = None, startup_timeout: float = 30.0) -> None:
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        if self.running:
            return
        env = {**os.environ, **DUMMY_ENV}
        self._proc = subprocess.Popen(
            _moto_command(self.port), stdout=self._log, stderr=subprocess.STDOUT, env=env
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self._proc.returncode}: {self._output()}")
            try:
                with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/data.json", timeout=1) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"moto_server did not answer on {self.endpoint_url}: {self._output()}")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def restart(self) -> None:
        self.stop()
        self.start()

    def client(self) -> Any:
        return s3_client_for(self.endpoint_url)

    def create_bucket(self, name: str | None = None) -> str:
        bucket = name or unique_bucket_name()
        self.client().create_bucket(Bucket=bucket)
        return bucket

    def settings(self, bucket: str, prefix: str = "components", **overrides: Any) -> Settings:
        return Settings(storage_url=f"s3://{bucket}/{prefix}", s3_endpoint_url=self.endpoint_url, **overrides)

    def close(self) -> None:
        self.stop()
        self._log.close()

    def _output(self) -> str:
        self._log.seek(0)
        return self._log.read()[-2000:].decode(errors="replace")


def unique_bucket_name() -> str:
    return f"test-{uuid.uuid4().hex[:20]}"


def s3_client_for(endpoint_url: str) -> Any:
    return boto3.session.Session(
        aws_access_key_id=DUMMY_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_ENV["AWS_SECRET_ACCESS_KEY"],
        region_name=DUMMY_ENV["AWS_DEFAULT_REGION"],
    ).client(
        "s3",
        endpoint_url=endpoint_url,
        config=Config(
            s3={"addressing_style": "path"},
            retries={"total_max_attempts": 1},
            connect_timeout=5,
            read_timeout=10,
        ),
    )


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """Endpoint URL of a moto_server shared by the whole session (one bucket per test keeps tests apart)."""
    server = MotoServer()
    server.start()
    try:
        yield server.endpoint_url
    finally:
        server.close()


@pytest.fixture
def s3_credentials(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name in _CLEARED_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in DUMMY_ENV.items():
        monkeypatch.setenv(name, value)
    return dict(DUMMY_ENV)


@pytest.fixture
def s3_client(s3_server: str, s3_credentials: dict[str, str]) -> Any:
    return s3_client_for(s3_server)


@pytest.fixture
def s3_bucket(s3_client: Any) -> str:
    bucket = unique_bucket_name()
    s3_client.create_bucket(Bucket=bucket)
    return bucket


@pytest.fixture
def s3_settings(s3_server: str, s3_bucket: str) -> Settings:
    return Settings(storage_url=f"s3://{s3_bucket}/components", s3_endpoint_url=s3_server)


@pytest.fixture
def s3_server_control(s3_credentials: dict[str, str]) -> Iterator[MotoServer]:
    """A dedicated, running moto server for this test only; stop()/start() it to simulate an outage."""
    server = MotoServer()
    server.start()
    try:
        yield server
    finally:
        server.close()
