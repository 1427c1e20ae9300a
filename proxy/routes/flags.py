"""GET/PUT /api/flags/{name}: rollout percentage per flag, evaluated per user."""

from __future__ import annotations

from aiohttp import web

from proxy.auth import require_admin
from proxy.context import ctx
from proxy.flags import FLAG_NAME, is_enabled
from proxy.http import fail, json_response, read_json_object

routes = web.RouteTableDef()


def flag_name(request: web.Request) -> str:
    name = request.match_info["name"]
    if not FLAG_NAME.fullmatch(name):
        fail(400, "invalid_flag", "flag names are 1-64 of a-z 0-9 . _ - starting with a letter or digit")
    return name


@routes.get("/api/flags/{name}")
async def get_flag(request: web.Request) -> web.StreamResponse:
    name = flag_name(request)
    user_id = request.query.get("userId")
    if user_id is not None and len(user_id) > 256:
        fail(400, "invalid_field", "userId is at most 256 characters")
    pct = await ctx(request).flags.percentage(name)
    return json_response({"name": name, "enabled": is_enabled(name, user_id, pct), "rolloutPercentage": pct},
                         headers={"Cache-Control": "no-store"})


@routes.put("/api/flags/{name}")
@require_admin
async def put_flag(request: web.Request) -> web.StreamResponse:
    name = flag_name(request)
    pct = (await read_json_object(request)).get("rolloutPercentage")
    if isinstance(pct, bool) or not isinstance(pct, int) or not 0 <= pct <= 100:
        fail(400, "invalid_field", "rolloutPercentage must be an integer from 0 to 100")
    await ctx(request).flags.set(name, pct)
    return json_response({"name": name, "rolloutPercentage": pct})
