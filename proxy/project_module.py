"""A project's module assembled from its scenes' stored artifacts, each evaluated in its own scope.

No bundler runs: every artifact is already a compiled, host-bound ES module whose exports are one
canonical `export { local as name, ... };` at its end (esbuild prints them that way). Its body goes
into an async arrow function of its own that returns the namespace, so

- a scene's top-level names are that function's locals: no other scene can read or rebind them,
  direct `eval` included (module code is strict: it cannot add names outside its function);
- a scene that throws while it evaluates becomes its own error component (with `compilationError`),
  and the scenes after it still evaluate;
- top-level `await` keeps working; scenes start in the project's order and are awaited together,
  so one whose evaluation never settles becomes an error component after EVALUATION_SECONDS
  instead of holding the whole project's import.

An artifact of another shape (a real `import` from an import-map URL, or a name of ours) is loaded as
what it is, a module at its own immutable URL, through `import()`: isolated the same way, one request
more. Assembly is string concatenation, linear in the artifacts' size.

Any change to what this file prints must bump BUNDLE_REVISION in proxy/projects.py (the module's hash).

    default export: { [sceneId]: component }     (frozen, in the given order)
    `modules`:      { [sceneId]: the scene module's namespace (every named export) }
    `order`:        [sceneId, ...] (the project's order: "order", then "createdAt")
    `scenes`:       { [sceneId]: { name, durationInFrames } } from the scene table, so a player can
                    build its <Series> without another request
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from core.artifact import unseal, without_map_comment

EVALUATION_SECONDS = 10  # a scene still evaluating after this (a top-level await that never settles) is an error
PREFIX = "__apProject$"  # the names this module declares; a scene that mentions them is loaded by URL

# The canonical export clause at the very end (pretty or minified), before the seal's trailer line.
_EXPORTS = re.compile(rb"(?:^|[;\n}])\s*(?P<clause>export\s*\{(?P<names>[^{}]*)\}\s*;?\s*)\Z")
_EXPORTS_WITHIN = 64 * 1024  # the clause is looked for in the artifact's tail only (longer: loaded by URL)
_EXPORT_ITEM = re.compile(r"([A-Za-z_$][\w$]*)(?:\s+as\s+([A-Za-z_$][\w$]*))?")
_MODULE_SYNTAX = re.compile(rb"\b(?:import|export)\b")
_SEAL_LINE = re.compile(rb"//# artifact-sha256=[0-9a-f]{64}\s*\Z")

_ERROR_MODULE_HEAD = b"// artifact-proxy: this scene failed to compile.\n"  # proxy/compiler/error_module.py
_ERROR_EXPORTS = ((b"export const compilationError = ", b"const compilationError = "),
                  (b"export default function CompilationError()", b"function CompilationError()"))

_HEAD = f"""// artifact-proxy: a project's scenes, each evaluated in its own function scope.
// What assembles the map is taken before any scene runs, so a scene that patches globals cannot redirect it.
const {PREFIX}freeze = Object.freeze, {PREFIX}fromEntries = Object.fromEntries, {PREFIX}entries = Object.entries;
const {PREFIX}race = Promise.race.bind(Promise), {PREFIX}allOf = Promise.all.bind(Promise);
const {PREFIX}map = Function.prototype.call.bind(Array.prototype.map);
const {PREFIX}failed = (error) => {{
  const compilationError = {PREFIX}freeze({{
    message: "Scene failed to evaluate: " + String(error && error.message || error).slice(0, 2000),
    line: 0, column: 0 }});
  const CompilationError = () => globalThis.React.createElement("div", {{
    role: "alert", "data-compilation-error": "true",
    style: {{ position: "absolute", inset: 0, display: "flex", alignItems: "center", justifyContent: "center",
      padding: "48px", background: "#2b0b0e", color: "#ffd7d7", fontFamily: "ui-monospace, monospace",
      fontSize: "24px", whiteSpace: "pre-wrap" }} }}, compilationError.message);
  return {PREFIX}freeze({{ __proto__: null, default: CompilationError, compilationError }});
}};
const {PREFIX}load = async (evaluate) => {{
  let timer;
  try {{
    return await {PREFIX}race([evaluate(), new Promise((_, reject) => {{
      const late = new Error("it did not finish within {EVALUATION_SECONDS} s");
      timer = setTimeout(() => reject(late), {EVALUATION_SECONDS * 1000});
    }})]);
  }} catch (error) {{
    return {PREFIX}failed(error);
  }} finally {{
    clearTimeout(timer);
  }}
}};
"""

# Only prefixed names live in module scope (exported under their public names), so a scene's free
# variable never resolves to one of ours.
_TAIL = f"""const {PREFIX}modules = {PREFIX}freeze({PREFIX}fromEntries(
  {PREFIX}map({PREFIX}ids, (id, i) => [id, {PREFIX}all[i]])));
const {PREFIX}scenes = {PREFIX}freeze({PREFIX}fromEntries(
  {PREFIX}map({PREFIX}entries({PREFIX}modules), ([id, namespace]) => [id, namespace.default])));
export {{ {PREFIX}scenes as default, {PREFIX}modules as modules, {PREFIX}ids as order, {PREFIX}labels as scenes }};
"""


@dataclass(frozen=True, slots=True)
class ScenePart:
    scene_id: str
    code: bytes  # the stored (sealed) artifact, or an error module
    url: str | None  # where the artifact is served (None for an error module)
    name: str | None = None  # the table's name and duration (frames), exported as `scenes`
    duration: int | None = None


def scene_labels(parts: list[ScenePart]) -> str:
    """`scenes` as JSON: data, never code (json.dumps escapes what could close the script)."""
    labels = {p.scene_id: {"name": p.name, "durationInFrames": p.duration} for p in parts}
    return json.dumps(labels, ensure_ascii=True).replace("<", "\\u003c")


def _namespace(exports: list[tuple[str, str]]) -> str:
    # getters keep ES module semantics: an export reassigned later is seen as it is now
    getters = ", ".join(f"get {json.dumps(name)}() {{ return {local}; }}" for local, name in exports)
    return f"return {PREFIX}freeze({{ __proto__: null{', ' if getters else ''}{getters} }});"


def inline_body(code: bytes) -> bytes | None:
    """The artifact as a function body returning its namespace; None when it is not of the canonical shape."""
    if unseal(code) is not None:
        code = without_map_comment(_SEAL_LINE.sub(b"", code))
    if code.startswith(_ERROR_MODULE_HEAD):  # our error module: two known `export` statements
        for exported, plain in _ERROR_EXPORTS:
            if code.count(exported) != 1:
                return None
            code = code.replace(exported, plain)
        code += b"\nexport { CompilationError as default, compilationError };\n"
    m = _EXPORTS.search(code, max(0, len(code) - _EXPORTS_WITHIN))
    if m is None or PREFIX.encode() in code:
        return None
    body = code[: m.start("clause")]
    if _MODULE_SYNTAX.search(body):  # an import (or the word in a string): not ours to rewrite
        return None
    exports: list[tuple[str, str]] = []
    for item in m.group("names").decode("ascii", "replace").split(","):
        item = item.strip()
        if not item:
            continue
        match = _EXPORT_ITEM.fullmatch(item)
        if match is None:
            return None
        local, name = match.group(1), match.group(2) or match.group(1)
        exports.append((local, name))
    return body + b"\n" + _namespace(exports).encode() + b"\n"


def assemble(parts: list[ScenePart]) -> bytes:
    """One ES module for the scenes, in order; linear in their total size."""
    return assemble_with_offsets(parts)[0]


def assemble_with_offsets(parts: list[ScenePart]) -> tuple[bytes, list[int | None]]:
    """The module, and for each part the 0-based line where its artifact's first line is (None when it
    is loaded by URL): a scene's body keeps its lines, so its own source map applies from there on."""
    ids = json.dumps([part.scene_id for part in parts]).encode()
    # every scene starts in order (one that never awaits runs to its end before the next starts); all
    # are awaited together, each at most EVALUATION_SECONDS, so one that never settles costs no other
    out = [_HEAD.encode(), b"const ", PREFIX.encode(), b"ids = ", PREFIX.encode(), b"freeze(", ids, b");\n",
           b"const ", PREFIX.encode(), b"labels = ", PREFIX.encode(), b"freeze(", scene_labels(parts).encode(),
           b");\n",
           b"const ", PREFIX.encode(), b"all = await ", PREFIX.encode(), b"allOf([\n"]
    line = sum(chunk.count(b"\n") for chunk in out)
    offsets: list[int | None] = []
    for part in parts:
        body = inline_body(part.code)
        offset = None
        if body is None and part.url is not None:
            loader = f"() => import({json.dumps(part.url)})".encode()
        elif body is None:  # neither inlinable nor served anywhere: cannot happen for our own modules
            loader = b'() => { throw new Error("scene module has an unexpected shape"); }'
        else:
            loader = b"async () => {\n" + body + b"}"
            offset = line + 1
        offsets.append(offset)
        out += [b"  ", PREFIX.encode(), b"load(", loader, b"),\n"]
        line += loader.count(b"\n") + 1
    out += [b"]);\n", _TAIL.encode()]
    return b"".join(out), offsets


def index_map(sections: list[tuple[str, int, bytes]]) -> bytes:
    """The project module's source map: an index map (source map v3 `sections`), one section per inlined
    scene at the line its body starts, holding that scene's own map with its TSX named
    `scene/<sceneId>.tsx`. Composed without decoding anything (a merged map would re-encode every
    segment relative to the scene before it); Chrome, Firefox and the mapping endpoint read it alike.

    `sections`: (scene id, 0-based line, the scene's stored map), in the module's order."""
    out = []
    for scene_id, line, data in sections:
        scene_map = json.loads(data)
        scene_map.pop("x_artifact_sha256", None)  # the scene map's own seal: this map gets its own
        scene_map["sources"] = [f"scene/{scene_id}.tsx"]
        out.append({"offset": {"line": line, "column": 0}, "map": scene_map})
    return json.dumps({"version": 3, "sections": out, "x_sceneIds": [s[0] for s in sections]},
                      ensure_ascii=True, separators=(",", ":")).encode()
