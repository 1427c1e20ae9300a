"""The built browser assets, loaded once at start-up: the host runtime (`node runtime/build.mjs`)
and the scene client (`node client/build.mjs`). Each build writes `<name>.<hash>.js` and a
manifest.json into its own directory."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cache.tiers import Artifact
from core.artifact import IMMUTABLE, JS_TYPE

if TYPE_CHECKING:
    from config.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST_RUNTIME = "host-runtime"
SCENE_CLIENT = "scene-client"


def _filename(name: str) -> re.Pattern[str]:
    """The only shape the builds write; anything else in a manifest is refused, since the name
    ends up in a URL and a route pattern."""
    return re.compile(rf"^{re.escape(name)}\.([0-9a-f]{{16}})\.js$")


class RuntimeAssetsError(RuntimeError):
    """The runtime bundle is missing or inconsistent; the message says how to rebuild it."""


def default_runtime_dir() -> Path:
    return REPO_ROOT / "build" / "runtime"


def default_client_dir() -> Path:
    return REPO_ROOT / "build" / "client"


def _rebuild_hint(directory: Path, name: str = HOST_RUNTIME) -> str:
    script = "client/build.mjs" if name == SCENE_CLIENT else "runtime/build.mjs"
    return f"run `make install` (or `node {script}`) to build {name} into {directory}"


@dataclass(frozen=True, slots=True)
class RuntimeAssets:
    filename: str  # host-runtime.<hash>.js
    hash: str  # 16 hex chars of SHA-256 over body
    body: bytes

    content_type = JS_TYPE
    # Content-addressed: a new build has a new name, so the old one can be cached forever.
    cache_control = IMMUTABLE

    @property
    def url_path(self) -> str:
        return f"/runtime/{self.filename}"

    @property
    def etag(self) -> str:
        return f'"{self.hash}"'

    @classmethod
    def load(cls, directory: str | Path | None = None, name: str = HOST_RUNTIME) -> RuntimeAssets:
        default = default_client_dir() if name == SCENE_CLIENT else default_runtime_dir()
        root = Path(directory) if directory else default
        manifest_path = root / "manifest.json"
        hint = _rebuild_hint(root, name)
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RuntimeAssetsError(f"no {name} build at {manifest_path}: {hint}") from None
        except (OSError, ValueError) as e:
            raise RuntimeAssetsError(f"unreadable {manifest_path} ({e}): {hint}") from None
        filename = manifest.get("file") if isinstance(manifest, dict) else None
        match = _filename(name).match(filename) if isinstance(filename, str) else None
        if not isinstance(filename, str) or not match:
            raise RuntimeAssetsError(f"{manifest_path} names no {name}.<hash>.js file: {hint}")
        try:
            body = (root / filename).read_bytes()
        except OSError as e:
            raise RuntimeAssetsError(f"cannot read {root / filename} ({e.strerror}): {hint}") from None
        digest = hashlib.sha256(body).hexdigest()[:16]
        if digest != match.group(1) or manifest.get("hash") != digest:
            raise RuntimeAssetsError(f"{root / filename} does not match its hash: {hint}")
        return cls(filename=filename, hash=digest, body=body)

    @classmethod
    def from_settings(cls, settings: Settings) -> RuntimeAssets:
        return cls.load(settings.runtime_dir)

    @classmethod
    def scene_client(cls, settings: Settings) -> RuntimeAssets:
        return cls.load(settings.client_dir, SCENE_CLIENT)

    def serves(self, filename: str) -> bool:
        """True for the one file name `/runtime/{file}` answers; everything else is a 404."""
        return filename == self.filename


@dataclass(frozen=True)
class Runtime:
    """A loaded browser asset, ready to serve like an artifact (ETag, 304, gzip/br): app state."""

    assets: RuntimeAssets
    encoded: Artifact
