"""The HTML of `/preview/{sceneId}`: the runtime script plus one call to ArtifactProxyPreview.mount."""

from __future__ import annotations

import html
import json

# JSON is valid JS, but inside <script> a "</script>" or "<!--" in a value would end or
# change the element; the HTML parser never sees these characters once escaped.
_SCRIPT_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    ord("\u2028"): "\\u2028",
    ord("\u2029"): "\\u2029",
}


def script_json(value: object) -> str:
    """JSON safe to embed in an inline <script>, whatever strings `value` holds."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).translate(_SCRIPT_ESCAPES)


def render_preview_page(scene_id: str, runtime_url: str, component_url: str, frame: int | None,
                        *, nonce: str | None = None) -> str:
    """The preview document. `frame` renders that frame as a paused still; None plays the scene.

    `nonce`, when given, is set on the inline script for a Content-Security-Policy `script-src 'nonce-…'`.
    """
    options = {"componentUrl": component_url, "frame": frame, "sceneId": scene_id}
    nonce_attr = f' nonce="{html.escape(nonce, quote=True)}"' if nonce else ""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<link rel="icon" href="data:,">
<title>Scene preview · {html.escape(scene_id)}</title>
<style{nonce_attr}>html,body{{margin:0;width:100%;height:100%;background:#000;overflow:hidden;color:#e4e4e7}}#root{{position:fixed;inset:0}}</style>
<script src="{html.escape(runtime_url, quote=True)}"></script>
</head>
<body>
<div id="root"></div>
<noscript>This preview needs JavaScript.</noscript>
<script type="module"{nonce_attr}>
ArtifactProxyPreview.mount(document.getElementById("root"), {script_json(options)});
</script>
</body>
</html>
"""
