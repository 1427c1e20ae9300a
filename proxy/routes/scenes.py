"""POST /api/scenes and PUT /api/scenes/{sceneId}: save first, then compile on write.

The code is saved even when it fails to compile (nothing a user typed is lost); the last good
artifact stays served until a good edit replaces it."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from core.scenes import SceneChange
from proxy.auth import require_admin
from proxy.context import ctx
from proxy.http import json_response, optional_str, read_json_object
from proxy.routes.shared import metadata, optional_frames, optional_uuid, parse_scene_id, tsx_code_of

routes = web.RouteTableDef()
NAME_MAX = 255  # the product's name column is varchar(255)


@routes.post("/api/scenes")
@require_admin
async def create_scene(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    data = await read_json_object(request)
    code = tsx_code_of(data, c)
    scene_id = optional_uuid(data, "id") or uuid.uuid4()
    scene = await c.service.create_scene(scene_id, code, optional_str(data, "name", NAME_MAX),
                                         optional_uuid(data, "projectId"), optional_frames(data, "duration"))
    return json_response(metadata(c.service, scene), status=201,
                         headers={"Location": f"/api/components/{scene.id}/metadata"})


@routes.put("/api/scenes/{scene_id}")
@require_admin
async def update_scene(request: web.Request) -> web.StreamResponse:
    scene_id = parse_scene_id(request)
    c = ctx(request)
    data = await read_json_object(request)
    scene = await c.service.update_scene(scene_id, tsx_code_of(data, c), optional_str(data, "name", NAME_MAX))
    return json_response(metadata(c.service, scene))


@routes.post("/api/scenes/{scene_id}/changed")
@require_admin
async def scene_changed(request: web.Request) -> web.StreamResponse:
    """For databases where the NOTIFY trigger is not allowed: the product (or a job) says it wrote
    the row itself. Every cache drops the scene and its project's module, and a compile starts."""
    scene_id = parse_scene_id(request)
    c = ctx(request)
    project_id = await c.repo.project_of(scene_id)
    await c.service.scene_changed(SceneChange(scene_id, (project_id,) if project_id else ()), publish=True)
    scene = await c.repo.get(scene_id)
    body: dict[str, Any] = metadata(c.service, scene) if scene is not None else {"id": str(scene_id), "status": "gone"}
    return json_response(body, status=202)
