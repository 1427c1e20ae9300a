"""Subsequent-view speed-up in headless Chromium: the old client-side approach against the proxy.

Every way runs against the SAME server process (the proxy app with the extra routes the old way
needs), the same 10 scenes of one project, the same loopback network, the same cache conditions:

- old: load the Sucrase compiler (esbuild bundle of node_modules/sucrase, served
  content-addressed at /bench/sucrase.<hash>.js with `Cache-Control: max-age=31536000,
  immutable` + strong ETag + br/gzip, exactly like an artifact), fetch each scene's TSX
  (/bench/tsx/<id>: `Cache-Control: no-cache` + strong ETag, so a repeat view revalidates with a
  304, like the new way's no-cache answers; br/gzip), transform it (typescript, jsx, imports) and build
  it with `new Function` with a require() bound to the host globals. The Sucrase load and the TSX
  fetches run in parallel. This is the old way the issue describes (each scene's TSX).
- old-batched: the old way at its best, every TSX of the project in ONE revalidated request
  (/bench/tsx-project/<projectId>, JSON, no-cache + ETag), so request count is not what separates
  it from the project module.
- new: `import()` /api/components/<id> for each scene (302 -> immutable module).
- project: one `import()` of /api/projects/<projectId>/components (one module holding every scene
  of the project, no-cache + ETag, so a repeat view revalidates with a 304; default export:
  sceneId -> component).
- direct: `import()` of each scene's content-addressed URL (/components/<hash>.js), for an app that
  already has compiledUrl from the scene metadata.
- cached: a bound, not a way: `import()` of the project module's immutable URL, which a repeat view
  takes from the HTTP cache without any request. No answer from any server can make a view that
  must load the module faster than this, so old / cached is the most any proxy could reach here.

Every page first loads the same host runtime script (/runtime/host-runtime.<hash>.js, immutable)
and start their clock when the page's module script starts (after the runtime ran, identical for
all). "components": all 10 components in hand. "frame": the first scene rendered by the
runtime's Remotion Player and one animation frame later. Navigation-relative times are recorded too.
First view: a fresh browser context (empty HTTP cache). Subsequent view: a new page in the same
context (HTTP cache warm). Later views: three more new pages in that context (Chromium has then
also written the V8 code cache it writes on a script's second load). The harness learns that a page
is done from a console message, never by polling it: a Chromium trace showed Playwright's polling
evaluating its ~20 ms utility script in the page in the middle of the measured window. The server
side is warm for all (scenes compiled, bundle built, TSX encoded).

    python -m loadtest.bench_browser [--reps 7]          # standalone
    python -m loadtest.bench_browser serve --port P      # the harness server (used internally)
"""

from __future__ import annotations

import argparse
import contextlib
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
# Chromium 15x builds each new window's omnibox popup as a WebUI page in its own renderer (~100
# modules compiled); a Chromium trace showed that renderer busy for most of the measured window of
# the second view, on a box with 2 CPUs. No page sees it; it only adds noise to every way, so it is
# off (Playwright merges this list with its own --disable-features).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-features=WebUIOmniboxPopup,WebUIOmniboxAimPopup"]
MODES = ("old", "old-batched", "new", "project", "direct", "cached")
# "subsequent" is the second view (the first with a warm HTTP cache); "later" are views 3-5, where
# Chromium also has the scripts' V8 code cache (it writes it on the second load and uses it after).
VIEWS = ("first", "subsequent", "later")
LATER_VIEWS = 3
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
const projectId = {project_json};
const mode = {mode_json};
const bundleUrl = {bundle_json};
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
  }} else if (mode === 'project') {{
    const bundle = await import('/api/projects/' + projectId + '/components');
    components = ids.map((id) => bundle.default[id]);
  }} else if (mode === 'cached') {{
    const bundle = await import(bundleUrl);
    components = ids.map((id) => bundle.default[id]);
  }} else if (mode === 'old-batched') {{
    const [, byId] = await Promise.all([
      loadScript({sucrase_json}),
      fetch('/bench/tsx-project/' + projectId).then((r) => {{
        if (!r.ok) throw new Error('tsx ' + r.status); return r.json(); }}),
    ]);
    components = ids.map((id) => build(byId[id]));
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
// The harness waits for this console message instead of polling the page: polling makes Playwright
// evaluate its utility script in the page (~20 ms of main thread) in the middle of the measurement.
run().catch((e) => {{ window.__bench = {{ error: String(e && e.stack || e) }}; }})
  .finally(() => console.log('bench-done'));
</script></body></html>
"""


def harness_app(ids: list[str], urls: list[str], project_id: str, sucrase_path: Path) -> Any:
    from aiohttp import web

    from cache.tiers import encode, with_brotli
    from config import load_settings
    from proxy.app import create_app
    from proxy.context import CTX
    from proxy.http import choose_encoding, etag_matches
    from proxy.routes.shared import serve_immutable

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
        bundle = await request.app[CTX].projects.resolve(uuid.UUID(project_id), contextlib.nullcontext)
        html = PAGE.format(runtime=runtime.assets.url_path, ids=json.dumps(ids), urls=json.dumps(urls), mode=mode,
                           mode_json=json.dumps(mode), project_json=json.dumps(project_id),
                           globals=json.dumps(GLOBALS_FOR_IMPORTS), sucrase_json=json.dumps(sucrase_url),
                           bundle_json=json.dumps(bundle.url))
        return web.Response(text=html, content_type="text/html", headers={"Cache-Control": "no-cache"})

    async def sucrase_js(request: web.Request) -> web.StreamResponse:
        if request.match_info["hash"] != sucrase_hash:
            raise web.HTTPNotFound()
        return serve_immutable(request, sucrase)

    def revalidated(request: web.Request, raw: bytes, content_type: str) -> web.Response:
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
        return web.Response(body=encoded.body(coding), headers={**headers, "Content-Type": content_type})

    async def tsx(request: web.Request) -> web.StreamResponse:
        scene = await request.app[CTX].repo.get(uuid.UUID(request.match_info["id"]))
        if scene is None:
            raise web.HTTPNotFound()
        return revalidated(request, scene.tsx_code.encode(), "text/plain; charset=utf-8")

    async def tsx_project(request: web.Request) -> web.StreamResponse:
        # the old way at its best: every scene's TSX of the project in one revalidated request
        scenes = await request.app[CTX].repo.list_project(uuid.UUID(request.match_info["id"]), 1000)
        if not scenes:
            raise web.HTTPNotFound()
        raw = json.dumps({str(s.id): s.tsx_code for s in scenes}).encode()
        return revalidated(request, raw, "application/json")

    app.router.add_get("/bench/{mode}.html", page)
    app.router.add_get("/bench/sucrase.{hash}.js", sucrase_js)
    app.router.add_get("/bench/tsx/{id}", tsx)
    app.router.add_get("/bench/tsx-project/{id}", tsx_project)
    return app


def serve_harness(port: int, config_path: Path) -> None:
    import uvloop
    from aiohttp import web

    config = json.loads(config_path.read_text())
    uvloop.install()
    app = harness_app(config["ids"], config["urls"], config["project"], Path(config["sucrase"]))
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# --- the measurement -----------------------------------------------------------------------------------

def measure_page(context: Any, url: str, timeout_ms: float = 30_000) -> dict[str, float]:
    """Open `url`, wait for its "bench-done" console line, and return its `window.__bench`."""
    page = context.new_page()
    try:
        with page.expect_console_message(lambda m: m.text == "bench-done", timeout=timeout_ms):
            page.goto(url)
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
    project_id = str(uuid.uuid4())
    with backend("embedded", workdir / "data") as be:
        env = server_env(be.env)
        seeder = ServerProcess(env, 1, log_path=out_dir / "browser-seed.log").start()
        try:
            scenes = create_compiled(seeder.base, [f"{s}\n// browser bench\n" for s in sources[:10]], 2, "browser",
                                     project_id=project_id)
        finally:
            seeder.stop()
        ids = [s["id"] for s in scenes]
        config = workdir / "harness.json"
        urls = [f"/components/{s['hash']}.js" for s in scenes]
        config.write_text(json.dumps({"ids": ids, "urls": urls, "project": project_id, "sucrase": str(sucrase)}))
        port = free_port()
        server = ServerProcess({**env, "PYTHONPATH": str(ROOT)}, 1, port, out_dir / "browser-server.log", command=[
            sys.executable, "-m", "loadtest.bench_browser", "serve", "--port", str(port), "--config", str(config)])
        with server:
            # server side warm for every way: compiled + in L1, the bundle built, TSX encoded
            for path in [f"/api/projects/{project_id}/components", f"/bench/tsx-project/{project_id}",
                         *(f"/api/components/{i}" for i in ids), *(f"/bench/tsx/{i}" for i in ids)]:
                urllib.request.urlopen(server.base + path, timeout=30).read()
            samples: dict[str, list[dict[str, float]]] = {}
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                try:
                    for mode in MODES:  # one untimed pass each: Chromium's own start-up costs
                        ctx = browser.new_context()
                        measure_page(ctx, f"{server.base}/bench/{mode}.html")
                        ctx.close()
                    for rep in range(reps):
                        for mode in (MODES if rep % 2 == 0 else MODES[::-1]):
                            ctx = browser.new_context(viewport={"width": 800, "height": 450})
                            try:
                                url = f"{server.base}/bench/{mode}.html"
                                samples.setdefault(f"{mode} first", []).append(measure_page(ctx, url))
                                samples.setdefault(f"{mode} subsequent", []).append(measure_page(ctx, url))
                                for _ in range(LATER_VIEWS):
                                    samples.setdefault(f"{mode} later", []).append(measure_page(ctx, url))
                            finally:
                                ctx.close()
                finally:
                    browser.close()
    summary: dict[str, Any] = {"reps": reps, "scenes": len(ids), "sucrase_bytes": sucrase.stat().st_size,
                               "samples": samples}
    for key, rows in samples.items():
        for metric in ("components", "frame", "navComponents", "navFrame"):
            summary[f"{key} {metric}"] = statistics.median(r[metric] for r in rows)
    for view in VIEWS:
        for metric in ("components", "frame"):
            for mode in MODES[1:]:
                summary[f"{view} {metric} ratio {mode}"] = (summary[f"old {view} {metric}"]
                                                            / summary[f"{mode} {view} {metric}"])
    print(f"  subsequent view: components {summary['old subsequent components']:.1f} ms (old) vs "
          f"{summary['project subsequent components']:.1f} ms (project module) = "
          f"{summary['subsequent components ratio project']:.1f}x")
    return summary


LABELS = {
    "old": "old: Sucrase in the browser, TSX per scene",
    "old-batched": "old, best case: Sucrase, all TSX in one request",
    "new": "new: import() per scene (/api/components/{id})",
    "project": "new: import() of the project (/api/projects/{id}/components)",
    "direct": "new: import() per scene of known content-addressed URLs",
    "cached": "bound: the project module from the HTTP cache, no request",
}


def render_rows(b: dict[str, Any]) -> list[str]:
    ratio = b["subsequent components ratio project"]
    strict = b["old-batched subsequent components"] / b["project subsequent components"]
    verdict = "met" if ratio >= 10 else "**missed**"
    return [f"| browser subsequent view, time to {b['scenes']} components (old / project module) | "
            f"{b['old subsequent components']:.1f} / {b['project subsequent components']:.1f} ms = {ratio:.1f}x "
            f"(vs old with one TSX request: {strict:.1f}x) | >= 10x | {verdict} |",
            f"| browser subsequent view, time to {b['scenes']} components (old / import() per scene) | "
            f"{b['old subsequent components']:.1f} / {b['new subsequent components']:.1f} ms = "
            f"{b['subsequent components ratio new']:.1f}x | as measured | - |",
            f"| browser subsequent view, time to first frame (old / project module) | "
            f"{b['old subsequent frame']:.1f} / {b['project subsequent frame']:.1f} ms = "
            f"{b['subsequent frame ratio project']:.1f}x | as measured | - |",
            f"| browser later views (3rd-5th), time to {b['scenes']} components (old / project module) | "
            f"{b['old later components']:.1f} / {b['project later components']:.1f} ms = "
            f"{b['later components ratio project']:.1f}x | as measured | - |",
            f"| browser subsequent view, bound for any server: old / the project module from the HTTP cache with "
            f"no request | {b['old subsequent components']:.1f} / {b['cached subsequent components']:.1f} ms = "
            f"{b['subsequent components ratio cached']:.1f}x | as measured | - |"]


def render_detail(b: dict[str, Any]) -> list[str]:
    lines = [f"Browser (headless Chromium, {b['scenes']} scenes of one project, median of {b['reps']} reps; ms from "
             f"the page's module script start; Sucrase bundle {b['sucrase_bytes']} bytes before compression). "
             "Subsequent = the second view; later = views 3-5 (V8 code cache in use). Ratios are old (TSX per "
             "scene) / this way:", "",
             "| way | first: components | first: frame | subsequent: components | ratio | subsequent: frame "
             "| ratio | later: components | ratio |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for mode in MODES:
        def ratio(view: str, metric: str, mode: str = mode) -> str:
            return "1.0x" if mode == "old" else f"{b[f'{view} {metric} ratio {mode}']:.1f}x"
        lines.append(f"| {LABELS[mode]} | {b[f'{mode} first components']:.1f} | {b[f'{mode} first frame']:.1f} "
                     f"| {b[f'{mode} subsequent components']:.1f} | {ratio('subsequent', 'components')} "
                     f"| {b[f'{mode} subsequent frame']:.1f} | {ratio('subsequent', 'frame')} "
                     f"| {b[f'{mode} later components']:.1f} | {ratio('later', 'components')} |")
    return lines


def chart_panel(ax: Any, b: dict[str, Any]) -> None:
    groups = ["first\ncomponents", "first\nframe", "subsequent\ncomponents", "subsequent\nframe"]
    keys = [("first", "components"), ("first", "frame"), ("subsequent", "components"), ("subsequent", "frame")]
    shown = [("old", "#94a3b8"), ("new", "#c4b5fd"), ("project", "#7c3aed")]
    width = 0.8 / len(shown)
    for n, (mode, color) in enumerate(shown):
        xs = [x - 0.4 + width * (n + 0.5) for x in range(len(groups))]
        ax.bar(xs, [b[f"{mode} {v} {m}"] for v, m in keys], width, label=LABELS[mode].split(" (")[0], color=color)
    for x, (v, m) in enumerate(keys):
        old, project = b[f"old {v} {m}"], b[f"project {v} {m}"]
        ax.text(x, old, f"{old / project:.1f}x", ha="center", va="bottom", fontsize=9)
    ax.set_xticks(list(range(len(groups))), groups)
    ax.set_ylabel("ms (median)")
    ax.set_title(f"Headless Chromium, {b['scenes']} scenes")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)  # clear of the ratio labels


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
