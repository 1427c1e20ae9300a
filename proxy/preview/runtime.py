"""The built browser host runtime (`node runtime/build.mjs`), loaded once at start-up."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.artifact import IMMUTABLE, JS_TYPE

if TYPE_CHECKING:
    from config.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
# The only shape build.mjs writes; anything else in a manifest is refused, since the name
# ends up in a URL and a route pattern.
_FILENAME = re.compile(r"^host-runtime\.([0-9a-f]{16})\.js$")


class RuntimeAssetsError(RuntimeError):
    """The runtime bundle is missing or inconsistent; the message says how to rebuild it."""


def default_runtime_dir() -> Path:
    return REPO_ROOT / "build" / "runtime"


def _rebuild_hint(directory: Path) -> str:
    return f"run `make install` (or `node runtime/build.mjs`) to build the browser runtime into {directory}"


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
    def load(cls, directory: str | Path | None = None) -> RuntimeAssets:
        root = Path(directory) if directory else default_runtime_dir()
        manifest_path = root / "manifest.json"
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RuntimeAssetsError(f"no browser runtime at {manifest_path}: {_rebuild_hint(root)}") from None
        except (OSError, ValueError) as e:
            raise RuntimeAssetsError(f"unreadable {manifest_path} ({e}): {_rebuild_hint(root)}") from None
        filename = manifest.get("file") if isinstance(manifest, dict) else None
        match = _FILENAME.match(filename) if isinstance(filename, str) else None
        if not match:
            raise RuntimeAssetsError(f"{manifest_path} names no host-runtime.<hash>.js file: {_rebuild_hint(root)}")
        try:
            body = (root / filename).read_bytes()
        except OSError as e:
            raise RuntimeAssetsError(f"cannot read {root / filename} ({e.strerror}): {_rebuild_hint(root)}") from None
        digest = hashlib.sha256(body).hexdigest()[:16]
        if digest != match.group(1) or manifest.get("hash") != digest:
            raise RuntimeAssetsError(f"{root / filename} does not match its hash: {_rebuild_hint(root)}")
        return cls(filename=filename, hash=digest, body=body)

    @classmethod
    def from_settings(cls, settings: Settings) -> RuntimeAssets:
        return cls.load(settings.runtime_dir)

    def serves(self, filename: str) -> bool:
        """True for the one file name `/runtime/{file}` answers; everything else is a 404."""
        return filename == self.filename
