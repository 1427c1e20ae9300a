"""Secrets stay out of logs, the error path cannot be used to inject script, artifacts are not sniffed,
and the static security checks (bandit, ruff's S rules; pip-audit on request) are clean."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.fixtures_faults import AUTH, scene
from tests.fixtures_server import TOKEN

pytestmark = pytest.mark.reliability

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
INJECTION = "</script><script>alert(document.domain)</script>"


async def test_tokens_never_reach_the_logs_even_with_the_access_log_on(
        spawn_server, tmp_path: Path, http: aiohttp.ClientSession) -> None:  # type: ignore[no-untyped-def]
    server = spawn_server(database_url=f"sqlite:///{tmp_path}/proxy.sqlite3",
                          storage_url=f"file://{tmp_path}/artifacts", access_log="true", log_level="DEBUG")
    wrong = "wrong-" + TOKEN + "-guess"  # what an attacker sends is not logged either
    base = server.base
    async with http.post(f"{base}/api/scenes", json={"tsxCode": scene()}, headers=AUTH) as r:
        assert r.status == 201
        sid = (await r.json())["id"]
    requests = [
        ("PUT", f"/api/scenes/{sid}", {"tsxCode": "export default () => <div>;"}, AUTH),  # compile error path
        ("POST", "/api/compile", {"tsxCode": "import x from './x'; export default x;"}, AUTH),
        ("POST", "/api/compile", {"tsxCode": scene()}, {"Authorization": f"Bearer {wrong}"}),
        ("POST", "/api/compile", {"tsxCode": scene()}, {"Authorization": f"Basic {TOKEN}"}),
        ("PUT", "/api/flags/sec", {"rolloutPercentage": 500}, AUTH),
        ("GET", f"/api/components/{sid}", None, {**AUTH, "Proxy-Authorization": f"Bearer {TOKEN}"}),
        ("GET", "/nope", None, AUTH),
    ]
    for method, path, body, headers in requests:
        async with http.request(method, base + path, json=body, headers=headers, allow_redirects=False) as r:
            assert r.status < 500
    async with http.post(f"{base}/api/scenes", data=b"{", headers={**AUTH, "Content-Type": "application/json"}) as r:
        assert r.status == 400
    server.stop()
    log = server.log_path.read_text()
    assert '"/api/compile' in log or "/api/compile" in log, "the access log is not on: the test proves nothing"
    assert TOKEN not in log
    assert wrong not in log


async def test_a_scene_cannot_inject_script_through_the_error_path(
        spawn_server, tmp_path: Path, http: aiohttp.ClientSession) -> None:  # type: ignore[no-untyped-def]
    server = spawn_server(database_url=f"sqlite:///{tmp_path}/proxy.sqlite3",
                          storage_url=f"file://{tmp_path}/artifacts")
    hostile = [
        f"import x from '{INJECTION}';\nexport default () => <p>{{x}}</p>;",  # in the message
        f"export default () => <div>{INJECTION}\u2028\u2029 <;\n",  # in the line text, with JS line separators
        f"const a = `${{'{INJECTION}'}}\n<<<<>>>> {INJECTION}",
    ]
    for code in hostile:
        async with http.post(f"{server.base}/api/scenes", json={"tsxCode": code}, headers=AUTH) as r:
            meta = await r.json()
            assert r.status == 201 and meta["status"] == "error", meta
        async with http.get(f"{server.base}/api/components/{meta['id']}", allow_redirects=False) as r:
            assert r.status == 200
            body = await r.read()
            assert r.headers["Content-Type"].startswith("text/javascript")
            assert r.headers["X-Content-Type-Options"] == "nosniff"
            assert r.headers["Cache-Control"] == "no-store"
            header = r.headers.get("X-Compilation-Error", "")
        assert b"</script" not in body.lower() and b"<script" not in body.lower(), body[:500]
        assert "\r" not in header and "\n" not in header
        module = tmp_path / f"error-{meta['id']}.mjs"
        module.write_bytes(body)
        node = shutil.which("node") or "node"
        check = subprocess.run([node, "--check", str(module)], capture_output=True, timeout=30)
        assert check.returncode == 0, check.stderr  # the message stayed inside its string literal
        async with http.get(f"{server.base}/preview/{meta['id']}") as r:
            page = await r.text()
            assert INJECTION not in page and "alert(document.domain)" not in page


async def test_artifacts_are_served_with_nosniff_on_every_variant(
        spawn_server, tmp_path: Path, http: aiohttp.ClientSession) -> None:  # type: ignore[no-untyped-def]
    server = spawn_server(database_url=f"sqlite:///{tmp_path}/proxy.sqlite3",
                          storage_url=f"file://{tmp_path}/artifacts")
    async with http.post(f"{server.base}/api/compile", json={"tsxCode": scene()}, headers=AUTH) as r:
        url = (await r.json())["url"]
    for method, headers in [("GET", {}), ("HEAD", {}), ("GET", {"Accept-Encoding": "gzip"}),
                            ("GET", {"Accept-Encoding": "br"}), ("GET", {"If-None-Match": "*"})]:
        async with http.request(method, server.base + url, headers=headers, auto_decompress=False) as r:
            assert r.status in (200, 304)
            assert r.headers["X-Content-Type-Options"] == "nosniff", (method, headers)
            if r.status == 200:
                assert r.headers["Content-Type"] == "text/javascript; charset=utf-8"


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_bandit_finds_nothing_in_the_service_code() -> None:
    result = run(str(BIN / "bandit"), "-q", "-c", "pyproject.toml", "-r", "proxy", "cache", "config")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_security_rules_find_nothing() -> None:
    result = run(str(BIN / "ruff"), "check", "--select", "S", "--ignore", "S101", "--no-cache",
                 "proxy", "cache", "config")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(os.environ.get("RUN_PIP_AUDIT") != "1", reason="needs PyPI's advisory data: RUN_PIP_AUDIT=1")
def test_pip_audit_finds_no_known_vulnerability() -> None:
    """Audits the installed environment (the project and every dependency) against PyPI's advisories."""
    result = run(str(BIN / "pip-audit"), "--progress-spinner", "off", "--skip-editable")
    assert result.returncode == 0, result.stdout + result.stderr
    # "No known vulnerabilities" means nothing when the advisory lookups failed (a mirror or proxy
    # without PyPI's JSON API): pip-audit then skips every package and still exits 0.
    unaudited = [n for n in ("aiohttp", "boto3", "redis", "asyncpg", "pydantic")
                 if f"could not be audited: {n} (" in result.stdout + result.stderr]
    assert not unaudited, f"pip-audit could not check {unaudited}: {result.stdout[-2000:]}"
