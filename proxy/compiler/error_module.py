"""A module to serve when a scene cannot be compiled: it imports nothing and renders the error.

Everything from the error goes into the code as JSON with `<`, `>`, `&` and line separators
escaped, so a scene's text can never break out of the string literal or out of a <script>.
"""

from __future__ import annotations

import json

from core.compiler import CompileError

_TEMPLATE = """\
// artifact-proxy: this scene failed to compile.
export const compilationError = %(error)s;
const LINE_TEXT = %(line_text)s;
const STYLE = {
  position: "absolute", inset: 0, display: "flex", flexDirection: "column", justifyContent: "center",
  gap: "16px", padding: "48px", boxSizing: "border-box", background: "#2b0b0e", color: "#ffd7d7",
  fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace", fontSize: "24px",
};
export default function CompilationError() {
  const h = globalThis.React.createElement;
  const e = compilationError;
  const where = e.line ? "line " + e.line + ", column " + e.column : "";
  return h("div", { style: STYLE, role: "alert", "data-compilation-error": "true" },
    h("div", { style: { fontSize: "32px", fontWeight: 700, color: "#ff6b6b" } }, "Scene failed to compile"),
    h("pre", { style: { margin: 0, whiteSpace: "pre-wrap", wordBreak: "break-word" } }, e.message),
    where ? h("div", { style: { opacity: 0.8 } }, where) : null,
    LINE_TEXT ? h("pre", { style: { margin: 0, opacity: 0.7, whiteSpace: "pre-wrap" } }, LINE_TEXT) : null);
}
"""


def _js_literal(value: object) -> str:
    text = json.dumps(value, ensure_ascii=True, sort_keys=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_error_module(err: CompileError) -> bytes:
    """Deterministic: the same error always gives the same bytes."""
    error = {"message": err.message, "line": err.line, "column": err.column}
    line_text = _js_literal(err.line_text[:500])
    return (_TEMPLATE % {"error": _js_literal(error), "line_text": line_text}).encode()
