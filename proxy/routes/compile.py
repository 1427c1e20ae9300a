"""POST /api/compile: compile and store one source, no scene involved (editor previews, CI checks)."""

from __future__ import annotations

from aiohttp import web

from core.compiler import CompileError
from proxy.auth import require_admin
from proxy.context import ctx
from proxy.http import json_response, read_json_object
from proxy.routes.shared import tsx_code_of

routes = web.RouteTableDef()


@routes.post("/api/compile")
@require_admin
async def compile_source(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    code = tsx_code_of(await read_json_object(request), c)
    try:
        built = await c.service.build(code)
    except CompileError as e:
        if not e.is_source_error:
            raise
        return json_response({"error": {"code": "compile_error", **e.to_json()}}, status=422)
    return json_response({"hash": built.hash, "url": built.url})
