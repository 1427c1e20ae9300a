"""What the scene client adds, in headless Chromium, against plain `import()` of the same modules.

One real `artifact-proxy serve` process (embedded back-end) with 30 compiled scenes, 10 of them in
one project; host pages on another origin (a second port) load the proxy's host runtime first, like
every view. Each page is timed from its module script's start; every page is a new page in one
browser context, so the HTTP cache is warm (a repeat view: the no-cache 302s revalidate, artifacts
and the runtime come from the cache) and the module map is empty (every page imports again).

- gallery plain:  `Promise.all(ids.map((id) => import(base + '/api/components/' + id)))` for 30 scenes,
  then 30 Players, each with its component inside Suspense.
- gallery client: `createSceneClient`, `Promise.all(ids.map(client.loadScene))`, then 30
  `<ServerScene>`. The page imports /runtime/scene-client.js statically, before its clock starts,
  as an app that bundles the client has it; its one-time cost is measured on its own (overhead).
- project plain / project client: one `import()` of the 10-scene project module against
  `client.loadProject`, then the project in a `<Series>` in one Player.
- overhead: one `import()` of /runtime/scene-client.js with a warm HTTP cache (the client's one-time
  cost per page); then, in that page whose module map already holds every module (no network at
  all): 30 `<ServerScene>` against 30 Suspense + Player with the components in hand, each into a
  fresh root until one animation frame after the commit, 30 alternating rounds (what the React
  bindings add to rendering); then 30 `client.loadScene` calls (a new client each round) against 30
  `import()` calls, 50 alternating rounds (the client's own JavaScript per scene).

"components": every module in hand. "frame": rendered and one animation frame later.

    python -m loadtest.bench_client [--reps 7]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

from loadtest.bench_browser import CHROMIUM, CHROMIUM_ARGS, measure_page
from loadtest.server import ServerProcess, backend, create_compiled, scene_sources, server_env, temp_workdir, variant

GALLERY = 30
PROJECT = 10
MODES = ("gallery plain", "gallery client", "project plain", "project client")

PAGE = """<!doctype html><html><head><meta charset="utf-8">
<script crossorigin="anonymous" src="__BASE__/runtime/host-runtime.js"></script></head>
<body><div id="root"></div><script type="module">
import * as SC from '__BASE__/runtime/scene-client.js';  // loaded with the page, like an app's own bundle
const BASE = __BASE_JSON__, MODE = __MODE__, IDS = __IDS__, PROJECT = __PROJECT__;
const h = React.createElement;
const player = (component, extra) => h(RemotionPlayer.Player, Object.assign({ component, durationInFrames: 150,
  fps: 30, compositionWidth: 1920, compositionHeight: 1080, initialFrame: 20, style: { width: 160 } }, extra));
const slot = (i, child) => h('div', { key: i, 'data-slot': '', style: { display: 'inline-block', width: 160 } }, child);
function series(order, components) {
  return () => h(Remotion.Series, null, order.map((id) => h(Remotion.Series.Sequence,
    { key: id, durationInFrames: 90 }, h(components[id]))));
}
async function run() {
  const t0 = performance.now();
  let view;
  if (MODE === 'gallery plain') {
    const mods = await Promise.all(IDS.map((id) => import(BASE + '/api/components/' + id)));
    window.__t1 = performance.now();
    view = h(React.Fragment, null, mods.map((m, i) => slot(i, h(React.Suspense,
      { fallback: h('p', { 'data-wait': '' }, 'Loading') }, player(m.default)))));
  } else if (MODE === 'gallery client') {
    const client = SC.createSceneClient({ baseUrl: BASE });
    await Promise.all(IDS.map((id) => client.loadScene(id)));
    window.__t1 = performance.now();
    view = h(React.Fragment, null, IDS.map((id, i) => slot(i, h(SC.ServerScene, { client, sceneId: id,
      initialFrame: 20, controls: false, style: { width: 160 } }))));  // the plain Players have no controls either
  } else if (MODE === 'project plain') {
    const m = await import(BASE + '/api/projects/' + PROJECT + '/components');
    window.__t1 = performance.now();
    const order = Object.keys(m.default);
    view = slot(0, player(series(order, m.default), { durationInFrames: 90 * order.length, style: { width: 640 } }));
  } else {
    const client = SC.createSceneClient({ baseUrl: BASE });
    const p = await client.loadProject(PROJECT);
    window.__t1 = performance.now();
    view = slot(0, player(series(p.order, p.components),
      { durationInFrames: 90 * p.order.length, style: { width: 640 } }));
  }
  const t1 = window.__t1;
  const root = document.getElementById('root');
  ReactDOM.createRoot(root).render(view);
  const want = MODE.startsWith('gallery') ? IDS.length : 1;
  const done = () => root.querySelectorAll('[data-slot]').length === want
    && !root.querySelector('[data-wait], [data-scene-loading], [data-scene-error]')
    && Array.from(root.querySelectorAll('[data-slot]')).every((s) => s.innerText.trim());
  const limit = performance.now() + 20000;
  while (!done() && performance.now() < limit) await new Promise((r) => requestAnimationFrame(r));
  if (!done()) throw new Error('not rendered');
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  window.__bench = { components: t1 - t0, frame: performance.now() - t0 };
}
run().catch((e) => { window.__bench = { error: String(e && e.stack || e) }; }).finally(() => console.log('bench-done'));
</script></body></html>
"""

OVERHEAD = """<!doctype html><html><head><meta charset="utf-8">
<script crossorigin="anonymous" src="__BASE__/runtime/host-runtime.js"></script></head>
<body><script type="module">
const BASE = __BASE_JSON__, IDS = __IDS__;
async function run() {
  const c0 = performance.now();
  const SC = await import(BASE + '/runtime/scene-client.js');  // HTTP cache warm: the 302 revalidates
  const clientImport = performance.now() - c0;
  const urls = IDS.map((id) => BASE + '/api/components/' + id);
  await Promise.all(urls.map((u) => import(u)));  // every module now in this page's module map
  const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  // rendering: 30 Players with the components in hand against 30 <ServerScene> (records warm), each
  // into a fresh root, committed and one animation frame later; alternating, 2 untimed rounds
  const h = React.createElement;
  const c = SC.createSceneClient({ baseUrl: BASE });
  const mods = await Promise.all(IDS.map((id) => c.loadScene(id)));
  const props = { durationInFrames: 150, fps: 30, compositionWidth: 1920, compositionHeight: 1080,
    initialFrame: 20, controls: false, style: { width: 160 } };
  const views = {
    plain: () => mods.map((m, i) => h('div', { key: i }, h(React.Suspense, { fallback: null },
      h(RemotionPlayer.Player, Object.assign({ component: m.default }, props))))),
    client: () => IDS.map((id, i) => h('div', { key: i }, h(SC.ServerScene, Object.assign({ client: c, sceneId: id },
      props)))),
  };
  const rendered = { plain: [], client: [] };
  for (let round = 0; round < 32; round += 1) {
    for (const way of (round % 2 ? ['plain', 'client'] : ['client', 'plain'])) {
      const el = document.body.appendChild(document.createElement('div'));
      const root = ReactDOM.createRoot(el);
      const t0 = performance.now();
      root.render(h(React.Fragment, null, views[way]()));
      await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
      if (round > 1) rendered[way].push(performance.now() - t0);
      if (!el.innerText.trim()) throw new Error(way + ' rendered nothing');
      root.unmount();
      el.remove();
    }
  }
  const plain = [], client = [];
  for (let round = 0; round < 50; round += 1) {
    const order = round % 2 ? ['plain', 'client'] : ['client', 'plain'];
    for (const way of order) {
      const t0 = performance.now();
      if (way === 'plain') await Promise.all(urls.map((u) => import(u)));
      else {
        const c = SC.createSceneClient({ baseUrl: BASE });
        await Promise.all(IDS.map((id) => c.loadScene(id)));
      }
      (way === 'plain' ? plain : client).push(performance.now() - t0);
    }
  }
  window.__bench = { plain: median(plain), client: median(client), scenes: IDS.length, clientImport,
    renderPlain: median(rendered.plain), renderClient: median(rendered.client) };
}
run().catch((e) => { window.__bench = { error: String(e && e.stack || e) }; }).finally(() => console.log('bench-done'));
</script></body></html>
"""


class Pages:
    """The host app's origin: a port of its own serving the bench pages."""

    def __init__(self, pages: dict[str, bytes]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path.split("?", 1)[0])
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _fill(template: str, base: str, **values: Any) -> bytes:
    text = template.replace("__BASE_JSON__", json.dumps(base)).replace("__BASE__", base)
    for name, value in values.items():
        text = text.replace(f"__{name.upper()}__", json.dumps(value))
    return text.encode()


def _measure(context: Any, url: str) -> dict[str, float]:
    return measure_page(context, url, timeout_ms=60_000)  # a 30-scene gallery takes longer than one page


def run(workdir: Path, out_dir: Path, reps: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    sources = scene_sources()
    project = str(uuid.uuid4())
    with backend("embedded", workdir / "data") as be:
        with ServerProcess(server_env(be.env), 1, log_path=out_dir / "client-server.log").start() as server:
            in_project = create_compiled(server.base, [variant(sources, i, "client-p") for i in range(PROJECT)], 2,
                                         "client", project_id=project)
            others = create_compiled(server.base, [variant(sources, i, "client-g") for i in range(GALLERY - PROJECT)],
                                     2, "client")
            ids = [s["id"] for s in in_project + others]
            for path in [f"/api/projects/{project}/components", *(f"/api/components/{i}" for i in ids)]:
                urllib.request.urlopen(server.base + path, timeout=60).read()  # server side warm
            pages = {f"/{mode.replace(' ', '-')}.html": _fill(PAGE, server.base, mode=mode, ids=ids, project=project)
                     for mode in MODES}
            pages["/overhead.html"] = _fill(OVERHEAD, server.base, ids=ids)
            site = Pages(pages)
            samples: dict[str, list[dict[str, float]]] = {}
            try:
                with sync_playwright() as pw:
                    browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                    try:
                        ctx = browser.new_context(viewport={"width": 1280, "height": 900})
                        for mode in MODES:  # untimed: fills the HTTP cache, Chromium's own start-up
                            _measure(ctx, f"{site.base}/{mode.replace(' ', '-')}.html")
                        for rep in range(reps):
                            for mode in (MODES if rep % 2 == 0 else MODES[::-1]):
                                url = f"{site.base}/{mode.replace(' ', '-')}.html"
                                samples.setdefault(mode, []).append(_measure(ctx, url))
                        overhead = [_measure(ctx, f"{site.base}/overhead.html") for _ in range(5)]
                        ctx.close()
                    finally:
                        browser.close()
            finally:
                site.close()
    summary: dict[str, Any] = {"reps": reps, "gallery": GALLERY, "project": PROJECT, "samples": samples,
                               "overhead": overhead}
    for mode, rows in samples.items():
        for metric in ("components", "frame"):
            summary[f"{mode} {metric}"] = statistics.median(r[metric] for r in rows)
    for view in ("gallery", "project"):  # both ways ran back to back in each repetition: pair them
        for metric in ("components", "frame"):
            pairs = zip(samples[f"{view} client"], samples[f"{view} plain"], strict=True)
            summary[f"{view} {metric} paired"] = statistics.median(c[metric] - p[metric] for c, p in pairs)
    summary["overhead plain"] = statistics.median(o["plain"] for o in overhead)
    summary["overhead client"] = statistics.median(o["client"] for o in overhead)
    summary["client import"] = statistics.median(o["clientImport"] for o in overhead)
    summary["render plain"] = statistics.median(o["renderPlain"] for o in overhead)
    summary["render client"] = statistics.median(o["renderClient"] for o in overhead)
    (out_dir / "client.json").write_text(json.dumps(summary, indent=2))
    return summary


def host_line() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [ln.split(":", 1)[1].strip() for ln in cpuinfo.read_text().splitlines() if ln.startswith("model name")]
        model = f"{names[0] if names else model} x{len(names)}"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {model}, load average {load}"


def render(summary: dict[str, Any]) -> list[str]:
    rows = [f"{host_line()}; {summary['reps']} repetitions", "",
            "| view | way | all modules in hand (ms, median) | rendered (ms, median) |", "|---|---|---|---|"]
    for mode in MODES:
        view, way = mode.split(" ")
        rows.append(f"| {view} | {way} | {summary[f'{mode} components']:.1f} | {summary[f'{mode} frame']:.1f} |")
    for view, n in (("gallery", summary["gallery"]), ("project", summary["project"])):
        for metric in ("components", "frame"):
            delta = summary[f"{view} {metric} paired"]
            rows.append(f"- {view} {metric}: client - plain, median of the per-repetition differences = "
                        f"{delta:+.1f} ms, {delta / n:+.2f} ms per scene ({n})")
    per = (summary["overhead client"] - summary["overhead plain"]) / GALLERY
    rows.append(f"- the client's own JavaScript, module map warm (no network): {summary['overhead client']:.2f} ms "
                f"for {GALLERY} loadScene against {summary['overhead plain']:.2f} ms for {GALLERY} import(): "
                f"{per * 1000:+.0f} us per scene")
    per = (summary["render client"] - summary["render plain"]) / GALLERY
    rows.append(f"- rendering, components in hand: {GALLERY} <ServerScene> {summary['render client']:.1f} ms against "
                f"{GALLERY} Suspense + Player {summary['render plain']:.1f} ms: {per * 1000:+.0f} us per scene")
    rows.append("- once per page: import('/runtime/scene-client.js'), HTTP cache warm: "
                f"{summary['client import']:.1f} ms")
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=7)
    args = p.parse_args()
    workdir = temp_workdir("bench-client-")
    out = Path(__file__).resolve().parent / "results" / time.strftime("%Y%m%d-%H%M%S-client")
    out.mkdir(parents=True, exist_ok=True)
    try:
        summary = run(workdir, out, args.reps)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("\n".join(render(summary)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
