"""proxy.preview without a browser: the page's escaping and the runtime asset loader."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from proxy.preview import RuntimeAssets, RuntimeAssetsError, render_preview_page

pytestmark = pytest.mark.browser


def test_page_values_cannot_close_the_script() -> None:
    hostile = '</script><script>alert(1)</script><!--\u2028'
    page = render_preview_page(hostile, "/runtime/host-runtime.0123456789abcdef.js",
                               f"https://cdn.example/api/components/x?{hostile}", 12)
    assert page.count("</script>") == 2  # the runtime tag and the mount tag, nothing injected
    assert "<!--" not in page
    call = re.search(r"mount\(document\.getElementById\(\"root\"\), (.*)\);", page)
    assert call is not None
    assert json.loads(call.group(1)) == {
        "componentUrl": f"https://cdn.example/api/components/x?{hostile}", "frame": 12, "sceneId": hostile}
    assert "<title>Scene preview · &lt;/script&gt;" in page


def test_page_basics_and_nonce() -> None:
    page = render_preview_page("abc", "/runtime/r.js", "/api/components/abc", None, nonce="n0nce")
    assert page.startswith("<!doctype html>")
    assert '<meta name="viewport"' in page
    assert '<div id="root"></div>' in page
    assert '<script src="/runtime/r.js"></script>' in page
    assert '<script type="module" nonce="n0nce">' in page
    assert '"frame":null' in page


def _write_build(directory: Path, body: bytes = b"console.log(1)") -> str:
    import hashlib

    digest = hashlib.sha256(body).hexdigest()[:16]
    name = f"host-runtime.{digest}.js"
    (directory / name).write_bytes(body)
    (directory / "manifest.json").write_text(json.dumps({"file": name, "hash": digest, "bytes": len(body)}))
    return name


def test_runtime_assets_load(tmp_path: Path) -> None:
    name = _write_build(tmp_path)
    assets = RuntimeAssets.load(tmp_path)
    assert assets.filename == name
    assert assets.url_path == f"/runtime/{name}"
    assert assets.body == b"console.log(1)"
    assert assets.serves(name) and not assets.serves("manifest.json")
    assert assets.etag == f'"{assets.hash}"'


def test_runtime_assets_missing_build_says_make_install(tmp_path: Path) -> None:
    with pytest.raises(RuntimeAssetsError, match="make install"):
        RuntimeAssets.load(tmp_path / "nothing-here")


def test_runtime_assets_refuse_tampered_or_odd_manifests(tmp_path: Path) -> None:
    name = _write_build(tmp_path)
    (tmp_path / name).write_bytes(b"changed")
    with pytest.raises(RuntimeAssetsError, match="does not match"):
        RuntimeAssets.load(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"file": "../../etc/passwd", "hash": "x"}))
    with pytest.raises(RuntimeAssetsError, match="names no host-runtime"):
        RuntimeAssets.load(tmp_path)
