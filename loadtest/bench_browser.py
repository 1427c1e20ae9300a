"""Subsequent-view speed-up in headless Chromium: the old client-side approach against the proxy.

Both ways run against the SAME server process (the proxy app with three extra routes the old way
needs), the same 10 scenes, the same loopback network, the same cache conditions:

- old way: load the Sucrase compiler (esbuild bundle of node_modules/sucrase, served
  content-addressed at /bench/sucrase.<hash>.js with `Cache-Control: public, max-age=31536000,
  immutable` + strong ETag + br/gzip, exactly like an artifact), fetch each scene's TSX
  (/bench/tsx/<id>: `Cache-Control: no-cache` + strong ETag, so a repeat view revalidates with a
  304, like the new way's no-cache 302; br/gzip), transform it (typescript, jsx, imports) and build
  it with `new Function` with a require() bound to the host globals. The Sucrase load and the TSX
  fetches run in parallel.
- new way: `import()` /api/components/<id> for each scene (302 -> immutable module).
- (extra) direct: `import()` of each scene's content-addressed URL (/components/<hash>.js), for
  an app that already has compiledUrl from the scene metadata; reported separately.

Both pages first load the same host runtime script (/runtime/host-runtime.<hash>.js, immutable)
and start their clock when the page's module script starts (after the runtime ran, identical for
both). "components": all 10 default exports in hand. "frame": the first scene rendered by the
runtime's Remotion Player and one animation frame later. Navigation-relative times are recorded too.
First view: a fresh browser context (empty HTTP cache). Subsequent view: a new page in the same
context (HTTP cache warm). The server side is warm for both (scenes compiled, TSX encoded).

    python -m loadtest.bench_browser [--reps 7]          # standalone
    python -m loadtest.bench_browser serve --port P      # the harness server (used internally)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from loadtest.server import (
    ROOT,
    ServerProcess,
    backend,
    create_compiled,
    free_port,
    scene_sources,
    server_env,
    temp_workdir,
)

CHROMIUM = os.environ.get("PROXY_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
MODES = ("old", "new", "direct")
GLOBALS_FOR_IMPORTS = {
    "react": "React", "react-dom": "ReactDOM", "remotion": "Remotion", "lucide-react": "LucideIcons",
    "@heroicons/react/24/solid": "HeroiconsSolid", "@heroicons/react/24/outline": "HeroiconsOutline",
}


def build_sucrase(out_dir: Path) -> Path:
    """esbuild bundle of Sucrase for the browser (IIFE exposing the global `Sucrase`)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / "sucrase.bundle.js"
    subprocess.run([str(ROOT / "node_modules/.bin/esbuild"), "--bundle", "--format=iife", "--global-name=Sucrase",
                    "--minify", "--platform=browser", "--define:process.env.NODE_ENV=\"production\"",
                    f"--outfile={out}"], input=b"export { transform } from 'sucrase';", cwd=ROOT, check=True,
                   capture_output=True, timeout=120)
    return out


# --- the harness server: the proxy app + the old way's routes ----------------------------------------

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>bench {mode}</title>
<script src="{runtime}"></script></head>
<body style="margin:0"><div id="root" style="width:640px;height:360px;position:relative"></div>
<script type="module">
const ids = {ids};
const urls = {urls};
const mode = {mode_json};
const REQUIRE = {globals};
function build(code) {{
  const js = Sucrase.transform(code, {{ transforms: ['typescript', 'jsx', 'imports'], production: true }}).code;
  const module = {{ exports: {{}} }};
  const require = (name) => {{
    if (!(name in REQUIRE)) throw new Error('unknown import ' + name);
    return globalThis[REQUIRE[name]];
  }};
  new Function('module', 'exports', 'require', 'React', js)(module, module.exports, require, React);
  return module.exports.default;
}}
function loadScript(src) {{
  return new Promise((resolve, reject) => {{
    const s = document.createElement('script');
    s.src = src; s.onload = resolve; s.onerror = () => reject(new Error('failed ' + src));
    document.head.appendChild(s);
  }});
}}
async function run() {{
  const t0 = performance.now();
  let components;
  if (mode === 'new') {{
    const mods = await Promise.all(ids.map((id) => import('/api/components/' + id)));
    components = mods.map((m) => m.default);
  }} else if (mode === 'direct') {{
    const mods = await Promise.all(urls.map((u) => import(u)));
    components = mods.map((m) => m.default);
  }} else {{
    const [, codes] = await Promise.all([
      loadScript({sucrase_json}),
      Promise.all(ids.map((id) => fetch('/bench/tsx/' + id).then((r) => {{
        if (!r.ok) throw new Error('tsx ' + r.status); return r.text(); }}))),
    ]);
    components = codes.map(build);
  }}
  const t1 = performance.now();
  const bad = components.filter((c) => typeof c !== 'function' && !(c && c.$$typeof));
  if (bad.length) throw new Error(bad.length + ' components are not components');
  const el = document.getElementById('root');
  ReactDOM.createRoot(el).render(React.createElement(RemotionPlayer.Player, {{
    component: components[0], durationInFrames: 150, compositionWidth: 1920, compositionHeight: 1080, fps: 30,
    style: {{ width: 640, height: 360 }} }}));
  const limit = performance.now() + 10000;
  while (!el.textContent.trim() && performance.now() < limit) await new Promise((r) => requestAnimationFrame(r));
  if (!el.textContent.trim()) throw new Error('nothing rendered');
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  const t2 = performance.now();
  window.__bench = {{ components: t1 - t0, frame: t2 - t0, navComponents: t1, navFrame: t2, count: components.length }};
}}
run().catch((e) => {{ window.__bench = {{ error: String(e && e.stack || e) }}; }});
</script></body></html>
"""


def harness_app(ids: list[str], urls: list[str], sucrase_path: Path) -> Any:
    from aiohttp import web

    from cache.tiers import encode, with_brotli
    from config import load_settings
    from proxy.app import create_app
    from proxy.context import CTX
    from proxy.http import choose_encoding, etag_matches
    from proxy.routes.artifacts import serve_immutable

    app = create_app(load_settings())
    body = sucrase_path.read_bytes()
    sucrase_hash = hashlib.sha256(body).hexdigest()[:16]
    sucrase = with_brotli(encode(sucrase_hash, body), quality=9)
    sucrase_url = f"/bench/sucrase.{sucrase_hash}.js"
    tsx_cache: dict[str, Any] = {}

    async def page(request: web.Request) -> web.Response:
        mode = request.match_info["mode"]
        runtime = request.app[CTX].runtime
        if mode not in MODES or runtime is None:
            raise web.HTTPNotFound()
        html = PAGE.format(runtime=runtime.assets.url_path, ids=json.dumps(ids), urls=json.dumps(urls), mode=mode,
                           mode_json=json.dumps(mode),
                           globals=json.dumps(GLOBALS_FOR_IMPORTS), sucrase_json=json.dumps(sucrase_url))
        return web.Response(text=html, content_type="text/html", headers={"Cache-Control": "no-cache"})

    async def sucrase_js(request: web.Request) -> web.StreamResponse:
        if request.match_info["hash"] != sucrase_hash:
            raise web.HTTPNotFound()
        return serve_immutable(request, sucrase)

    async def tsx(request: web.Request) -> web.StreamResponse:
        scene = await request.app[CTX].repo.get(uuid.UUID(request.match_info["id"]))
        if scene is None:
            raise web.HTTPNotFound()
        raw = scene.tsx_code.encode()
        digest = hashlib.sha256(raw).hexdigest()[:16]
        encoded = tsx_cache.get(digest)
        if encoded is None:  # encoded once per version, as a compressing CDN/front would keep it
            encoded = tsx_cache[digest] = with_brotli(encode(digest, raw))
        headers = {"Cache-Control": "no-cache", "ETag": encoded.etag, "Vary": "Accept-Encoding"}
        if etag_matches(request.headers.get("If-None-Match"), encoded.etag):
            return web.Response(status=304, headers=headers)
        coding = choose_encoding(request.headers.get("Accept-Encoding"))
        if coding != "identity":
            headers["Content-Encoding"] = coding
        return web.Response(body=encoded.body(coding), headers={**headers, "Content-Type": "text/plain; charset=utf-8"})

    app.router.add_get("/bench/{mode}.html", page)
    app.router.add_get("/bench/sucrase.{hash}.js", sucrase_js)
    app.router.add_get("/bench/tsx/{id}", tsx)
    return app


def serve_harness(port: int, config_path: Path) -> None:
    import uvloop
    from aiohttp import web

    config = json.loads(config_path.read_text())
    uvloop.install()
    app = harness_app(config["ids"], config["urls"], Path(config["sucrase"]))
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# --- the measurement -----------------------------------------------------------------------------------

def _measure(context: Any, url: str) -> dict[str, float]:
    page = context.new_page()
    try:
        page.goto(url)
        page.wait_for_function("window.__bench !== undefined", timeout=30_000)
        result: dict[str, float] = page.evaluate("window.__bench")
    finally:
        page.close()
    if "error" in result:
        raise RuntimeError(f"{url}: {result['error']}")
    return result


def run_browser_bench(workdir: Path, out_dir: Path, reps: int = 7) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    sucrase = build_sucrase(workdir)
    sources = scene_sources()
    with backend("embedded", workdir / "data") as be:
        env = server_env(be.env)
        seeder = ServerProcess(env, 1, log_path=out_dir / "browser-seed.log").start()
        try:
            scenes = create_compiled(seeder.base, [f"{s}\n// browser bench\n" for s in sources[:10]], 2, "browser")
        finally:
            seeder.stop()
        ids = [s["id"] for s in scenes]
        config = workdir / "harness.json"
        urls = [f"/components/{s['hash']}.js" for s in scenes]
        config.write_text(json.dumps({"ids": ids, "urls": urls, "sucrase": str(sucrase)}))
        port = free_port()
        server = ServerProcess({**env, "PYTHONPATH": str(ROOT)}, 1, port, out_dir / "browser-server.log", command=[
            sys.executable, "-m", "loadtest.bench_browser", "serve", "--port", str(port), "--config", str(config)])
        with server:
            for scene_id in ids:  # server side warm for both ways: compiled + in L1, TSX encoded
                for path in (f"/api/components/{scene_id}", f"/bench/tsx/{scene_id}"):
                    urllib.request.urlopen(server.base + path, timeout=30).read()
            samples: dict[str, list[dict[str, float]]] = {}
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                try:
                    for mode in MODES:  # one untimed pass each: Chromium's own start-up costs
                        ctx = browser.new_context()
                        _measure(ctx, f"{server.base}/bench/{mode}.html")
                        ctx.close()
                    for rep in range(reps):
                        for mode in (MODES if rep % 2 == 0 else MODES[::-1]):
                            ctx = browser.new_context(viewport={"width": 800, "height": 450})
                            try:
                                url = f"{server.base}/bench/{mode}.html"
                                samples.setdefault(f"{mode} first", []).append(_measure(ctx, url))
                                samples.setdefault(f"{mode} subsequent", []).append(_measure(ctx, url))
                            finally:
                                ctx.close()
                finally:
                    browser.close()
    summary: dict[str, Any] = {"reps": reps, "scenes": len(ids), "sucrase_bytes": sucrase.stat().st_size,
                               "samples": samples}
    for key, rows in samples.items():
        for metric in ("components", "frame", "navComponents", "navFrame"):
            summary[f"{key} {metric}"] = statistics.median(r[metric] for r in rows)
    for view in ("first", "subsequent"):
        for metric in ("components", "frame"):
            summary[f"{view} {metric} ratio"] = summary[f"old {view} {metric}"] / summary[f"new {view} {metric}"]
            summary[f"{view} {metric} direct ratio"] = (summary[f"old {view} {metric}"]
                                                        / summary[f"direct {view} {metric}"])
    print(f"  subsequent view: components {summary['old subsequent components']:.1f} ms (old) vs "
          f"{summary['new subsequent components']:.1f} ms (new) = {summary['subsequent components ratio']:.1f}x")
    return summary


def render_rows(b: dict[str, Any]) -> list[str]:
    ratio = b["subsequent components ratio"]
    verdict = "met" if ratio >= 10 else "**missed**"
    return [f"| browser subsequent view, time to 10 components (old / new) | {b['old subsequent components']:.1f} / "
            f"{b['new subsequent components']:.1f} ms = {ratio:.1f}x | >= 10x | {verdict} |",
            f"| browser subsequent view, time to first frame (old / new) | {b['old subsequent frame']:.1f} / "
            f"{b['new subsequent frame']:.1f} ms = {b['subsequent frame ratio']:.1f}x | as measured | - |"]


def render_detail(b: dict[str, Any]) -> list[str]:
    lines = [f"Browser (headless Chromium, {b['scenes']} scenes, median of {b['reps']} reps; ms from the page's "
             f"module script start; Sucrase bundle {b['sucrase_bytes']} bytes before compression):", "",
             "| view | old: components | new: components | ratio | old: first frame | new: first frame | ratio "
             "| old / new components, from navigation start |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for view in ("first", "subsequent"):
        lines.append(f"| {view} | {b[f'old {view} components']:.1f} | {b[f'new {view} components']:.1f} "
                     f"| {b[f'{view} components ratio']:.1f}x | {b[f'old {view} frame']:.1f} "
                     f"| {b[f'new {view} frame']:.1f} | {b[f'{view} frame ratio']:.1f}x "
                     f"| {b[f'old {view} navComponents']:.1f} / {b[f'new {view} navComponents']:.1f} |")
    lines += ["", "Extra, not the comparison asked for: the new way when the page already knows each scene's "
              "content-addressed URL (compiledUrl from the metadata the app loads with the project), so no 302 "
              "round trip:", "", "| view | direct import: components | ratio vs old | direct: first frame "
              "| ratio vs old |", "|---|---:|---:|---:|---:|"]
    for view in ("first", "subsequent"):
        lines.append(f"| {view} | {b[f'direct {view} components']:.1f} | {b[f'{view} components direct ratio']:.1f}x "
                     f"| {b[f'direct {view} frame']:.1f} | {b[f'{view} frame direct ratio']:.1f}x |")
    return lines


def chart_panel(ax: Any, b: dict[str, Any]) -> None:
    groups = ["first\ncomponents", "first\nframe", "subsequent\ncomponents", "subsequent\nframe"]
    keys = [("first", "components"), ("first", "frame"), ("subsequent", "components"), ("subsequent", "frame")]
    xs = range(len(groups))
    old = [b[f"old {v} {m}"] for v, m in keys]
    new = [b[f"new {v} {m}"] for v, m in keys]
    ax.bar([x - 0.2 for x in xs], old, 0.4, label="old: Sucrase in the browser", color="#94a3b8")
    ax.bar([x + 0.2 for x in xs], new, 0.4, label="new: import() from the proxy", color="#7c3aed")
    for x, o, n in zip(xs, old, new, strict=True):
        ax.text(x, max(o, n), f"{o / n:.1f}x", ha="center", va="bottom", fontsize=9)
    ax.set_xticks(list(xs), groups)
    ax.set_ylabel("ms (median)")
    ax.set_title(f"Headless Chromium, {b['scenes']} scenes")
    ax.legend(fontsize=8)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command")
    s = sub.add_parser("serve")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--config", type=Path, required=True)
    p.add_argument("--reps", type=int, default=7)
    args = p.parse_args()
    if args.command == "serve":
        serve_harness(args.port, args.config)
        return 0
    workdir = temp_workdir("bench-browser-")
    out = Path(__file__).resolve().parent / "results" / time.strftime("%Y%m%d-%H%M%S-browser")
    out.mkdir(parents=True, exist_ok=True)
    try:
        summary = run_browser_bench(workdir, out, args.reps)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("\n".join([*render_rows(summary), "", *render_detail(summary)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
