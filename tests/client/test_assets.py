"""The scene client's build is loaded like the host runtime's, under its own name only."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from proxy.preview import RuntimeAssets, RuntimeAssetsError
from proxy.preview.runtime import HOST_RUNTIME, SCENE_CLIENT


def write_build(directory: Path, name: str, body: bytes = b"export const x = 1;") -> str:
    digest = hashlib.sha256(body).hexdigest()[:16]
    file = f"{name}.{digest}.js"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / file).write_bytes(body)
    (directory / "manifest.json").write_text(json.dumps({"file": file, "hash": digest, "bytes": len(body)}))
    return file


def test_the_scene_client_build_loads_under_its_own_name(tmp_path: Path) -> None:
    file = write_build(tmp_path, SCENE_CLIENT)
    assets = RuntimeAssets.load(tmp_path, SCENE_CLIENT)
    assert assets.filename == file and assets.url_path == f"/runtime/{file}"
    assert assets.serves(file) and not assets.serves(f"{HOST_RUNTIME}.{assets.hash}.js")


def test_a_host_runtime_manifest_is_not_taken_for_the_scene_client_nor_the_other_way_round(tmp_path: Path) -> None:
    write_build(tmp_path / "runtime", HOST_RUNTIME)
    write_build(tmp_path / "client", SCENE_CLIENT)
    with pytest.raises(RuntimeAssetsError, match="names no scene-client"):
        RuntimeAssets.load(tmp_path / "runtime", SCENE_CLIENT)
    with pytest.raises(RuntimeAssetsError, match="names no host-runtime"):
        RuntimeAssets.load(tmp_path / "client")


def test_a_missing_scene_client_build_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(RuntimeAssetsError, match=r"node client/build\.mjs"):
        RuntimeAssets.load(tmp_path / "nothing", SCENE_CLIENT)
