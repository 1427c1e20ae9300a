"""GET /preview/{sceneId}: a page that plays the scene; GET /runtime/{file}: the host runtime it loads
and the scene client module host apps import (both content-addressed and immutable, like artifacts)."""

from __future__ import annotations

import logging

from aiohttp import web

from cache.tiers import encode, with_brotli
from proxy.context import AppContext, ctx
from proxy.http import Cors, fail, immutable_headers, validated_response
from proxy.preview.page import render_preview_page
from proxy.preview.runtime import Runtime, RuntimeAssets, RuntimeAssetsError
from proxy.routes.shared import parse_scene_id, serve_immutable

routes = web.RouteTableDef()
HTML_TYPE = "text/html; charset=utf-8"

log = logging.getLogger("artifact_proxy.preview")


def load_runtime(c: AppContext) -> None:
    """The runtime and the scene client are built by `make install`; without them the API still
    serves, and their routes say why."""
    try:
        assets = RuntimeAssets.from_settings(c.settings)
        # 1.5 MB: brotli 9 costs ~0.1 s once at start, quality 11 would cost seconds per worker
        c.runtime = Runtime(assets, with_brotli(encode(assets.hash, assets.body, immutable_headers), quality=9))
    except RuntimeAssetsError as e:
        log.warning("host runtime not loaded; /preview is unavailable: %s", e)
    try:
        client = RuntimeAssets.scene_client(c.settings)
        c.scene_client = Runtime(client, with_brotli(encode(client.hash, client.body, immutable_headers),
                                                     quality=11))  # ~10 KB
    except RuntimeAssetsError as e:
        log.warning("scene client not loaded; /runtime/scene-client.js is unavailable: %s", e)


def _runtime(request: web.Request) -> Runtime:
    runtime = ctx(request).runtime
    if runtime is None:
        fail(503, "runtime_missing", "the browser host runtime is not built: run `make install`")
    return runtime


@routes.get("/preview/{scene_id}")
async def preview_page(request: web.Request) -> web.StreamResponse:
    scene_id = parse_scene_id(request)
    runtime = _runtime(request)
    await ctx(request).service.get_scene(scene_id)  # 404 before rendering a page for nothing
    frame_raw = request.query.get("frame")
    frame: int | None = None
    if frame_raw is not None:
        if not frame_raw.isdigit() or len(frame_raw) > 7:
            fail(400, "invalid_frame", "frame must be a non-negative integer")
        frame = int(frame_raw)
    html = render_preview_page(str(scene_id), runtime.assets.url_path, f"/api/components/{scene_id}", frame)
    # no-cache: the page names the current runtime; its ETag (over the page) makes a repeat view a 304
    return validated_response(request, html.encode(), HTML_TYPE, {
        "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": PREVIEW_CSP, "Referrer-Policy": "no-referrer"})


# Scene code is untrusted: the page runs in an opaque origin, so it cannot read this origin's storage
# or cookies nor make credentialed same-origin requests. Its imports are CORS requests with
# `Origin: null`; the scene route answers those (proxy/routes/components.py), artifacts are `*`.
PREVIEW_CSP = "sandbox allow-scripts"


def _scene_client(request: web.Request) -> Runtime:
    client = ctx(request).scene_client
    if client is None:
        fail(503, "runtime_missing", "the scene client is not built: run `make install`")
    return client


def _latest(runtime: Runtime) -> web.StreamResponse:
    """A stable name for host apps on other origins: 302 to the current content-addressed file."""
    return web.Response(status=302, headers={"Location": runtime.assets.url_path,
                                             "Cache-Control": "no-cache", **Cors.PUBLIC})


@routes.get("/runtime/host-runtime.js")
async def runtime_latest(request: web.Request) -> web.StreamResponse:
    return _latest(_runtime(request))


@routes.get("/runtime/scene-client.js")
async def scene_client_latest(request: web.Request) -> web.StreamResponse:
    return _latest(_scene_client(request))


@routes.get("/runtime/{file}")
async def runtime_script(request: web.Request) -> web.StreamResponse:
    file = request.match_info["file"]
    client = ctx(request).scene_client
    if client is not None and client.assets.serves(file):
        return serve_immutable(request, client.encoded)
    runtime = _runtime(request)
    if not runtime.assets.serves(file):
        fail(404, "not_found", "no such runtime file")
    return serve_immutable(request, runtime.encoded)
