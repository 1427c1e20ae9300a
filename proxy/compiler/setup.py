"""Everything that decides a compile's output, gathered once: the tools, the options, the import map,
the host runtime's exports.

The fingerprint is a readable digest of all of it, so `hash_of` needs no worker and any change
(an esbuild upgrade, an edited worker script, a new import-map entry) moves every hash.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import orjson

from core.scenes import source_hash

# Bump when the Python side changes what reaches the worker or how replies become modules.
PIPELINE_REVISION = "1"

JS_DIR = Path(__file__).resolve().parent / "js"
WORKER_SCRIPT = JS_DIR / "worker.mjs"
# Written by runtime/build.mjs: each host global's export names; scenes' imports are checked against it.
RUNTIME_EXPORTS = Path("build") / "runtime" / "globals.json"

# Specifier -> host global (a dotted path on globalThis) or an absolute URL to import from.
# `prefix/*` covers every deeper path; the longest match wins. Settings.import_map goes over this;
# an empty value there removes an entry.
DEFAULT_IMPORT_MAP: dict[str, str] = {
    "react": "React",
    "react/jsx-runtime": "React",
    "react/jsx-dev-runtime": "React",
    "react-dom": "ReactDOM",
    "react-dom/client": "ReactDOM",
    "remotion": "Remotion",
    "@remotion/shapes": "RemotionShapes",
    "@remotion/paths": "RemotionPaths",
    "@remotion/transitions": "RemotionTransitions",
    "@remotion/transitions/*": "RemotionTransitions",  # fade, slide, wipe, ...: one global
    "@remotion/google-fonts": "RemotionGoogleFonts",
    "@remotion/google-fonts/*": "RemotionGoogleFonts.*",  # each font module is its own property
    "@remotion/player": "RemotionPlayer",
    "lucide-react": "LucideIcons",
    "@heroicons/react/24/solid": "HeroiconsSolid",
    "@heroicons/react/20/solid": "HeroiconsSolid",
    "@heroicons/react/24/outline": "HeroiconsOutline",
    "@iconify/react": "IconifyIcon",
}

# Output-shaping esbuild options; sent to the worker and hashed, so they cannot drift apart.
DEFAULT_OPTIONS: dict[str, str] = {
    "target": "es2020",
    "jsxFactory": "React.createElement",
    "jsxFragment": "React.Fragment",
}

_GLOBAL_RE = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*(?:\.\*)?")  # `X.*`: subpath -> property
_URL_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")
_SPECIFIER_RE = re.compile(r"[^\s\"'`]+")


class CompilerSetupError(RuntimeError):
    """The compiler cannot run here (missing tools, bad configuration); the message says how to fix it."""


def find_repo_root(start: Path | None = None) -> Path:
    """The directory holding package.json above proxy/ (node_modules lives next to it)."""
    here = (start or Path(__file__)).resolve()
    for candidate in [*here.parents, Path.cwd()]:
        if (candidate / "package.json").is_file() and (candidate / "proxy").is_dir():
            return candidate
    raise CompilerSetupError(f"cannot find the project root (package.json above {here}): run make install")


def _package_version(root: Path, name: str) -> str:
    manifest = root / "node_modules" / name / "package.json"
    try:
        return str(orjson.loads(manifest.read_bytes())["version"])
    except (OSError, ValueError, KeyError) as e:
        where = root / "node_modules"
        raise CompilerSetupError(f"{name} is not installed in {where}: run make install") from e


def merge_import_map(overrides: Mapping[str, str]) -> dict[str, str]:
    merged = dict(DEFAULT_IMPORT_MAP)
    for specifier, target in overrides.items():
        if not _SPECIFIER_RE.fullmatch(specifier):
            raise CompilerSetupError(f"import_map: {specifier!r} is not an import specifier")
        if target == "":
            merged.pop(specifier, None)
        elif _GLOBAL_RE.fullmatch(target) or _URL_RE.fullmatch(target):
            merged[specifier] = target
        else:
            raise CompilerSetupError(
                f"import_map[{specifier!r}] = {target!r}: use a global name (Remotion) or an absolute URL")
    return dict(sorted(merged.items()))


def _digest(data: bytes, n: int = 16) -> str:
    return hashlib.sha256(data).hexdigest()[:n]


def runtime_exports(root: Path) -> tuple[Path, str]:
    """The host runtime's export manifest (runtime/build.mjs) and its digest, which every hash covers:
    a runtime upgrade makes the affected artifacts stale like a compiler upgrade does."""
    path = root / RUNTIME_EXPORTS
    try:
        return path, _digest(path.read_bytes())
    except OSError as e:
        raise CompilerSetupError(f"no host runtime export manifest at {path}: run make install "
                                 "(or node runtime/build.mjs)") from e


def script_digest(js_dir: Path = JS_DIR) -> str:
    """A digest of every worker source file, so editing the worker changes every hash."""
    h = hashlib.sha256()
    for path in sorted(js_dir.glob("*.mjs")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class CompilerSetup:
    root: Path
    esbuild_version: str
    babel_version: str
    options: dict[str, str]
    import_map: dict[str, str]
    fingerprint: str
    host_exports: Path
    source_maps: bool = True  # a map beside every module; shapes the output (its comment), so hashed

    @classmethod
    def create(cls, import_map: Mapping[str, str] | None = None,
               options: Mapping[str, str] | None = None, root: Path | None = None,
               source_maps: bool = True) -> CompilerSetup:
        root = root or find_repo_root()
        esbuild_version = _package_version(root, "esbuild")
        babel_version = _package_version(root, "@babel/parser")
        merged_options = {**DEFAULT_OPTIONS, **(options or {})}
        merged_map = merge_import_map(import_map or {})
        shaping = orjson.dumps({"options": merged_options, "importMap": merged_map, "sourceMaps": source_maps},
                               option=orjson.OPT_SORT_KEYS)
        host_exports, runtime_digest = runtime_exports(root)
        fingerprint = (f"esbuild@{esbuild_version} babel-parser@{babel_version} worker@{script_digest()} "
                       f"pipeline@{PIPELINE_REVISION} options@{_digest(shaping)} runtime@{runtime_digest}")
        return cls(root, esbuild_version, babel_version, merged_options, merged_map, fingerprint, host_exports,
                   source_maps)

    def hash_of(self, source: str) -> str:
        return source_hash(self.fingerprint, source)  # the databases compute it too (project misses)

    def worker_config(self, work_dir: Path) -> bytes:
        return orjson.dumps({**self.options, "importMap": self.import_map, "workDir": str(work_dir),
                             "hostExports": str(self.host_exports), "sourceMaps": self.source_maps})
