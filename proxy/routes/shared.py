"""What several route modules need, in one place beside them (no route module imports another):
request parsing, the client key, scene metadata, serving an immutable module and its source map."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from aiohttp import web

from cache.tiers import Artifact, ArtifactTiers
from core import metrics
from core.artifact import IMMUTABLE, is_valid_hash
from core.scenes import Scene
from proxy.context import AppContext
from proxy.http import JSON_TYPE, Cors, choose_encoding, error_response, etag_matches, fail, validated_response
from proxy.service import CompilationService

ARTIFACT_BYTES = {e: metrics.tally(metrics.ARTIFACT_BYTES.labels(e)) for e in ("identity", "gzip", "br")}


# --- parsing -------------------------------------------------------------------------------------

def parse_id(request: web.Request, key: str, what: str) -> uuid.UUID:
    raw = request.match_info[key]
    try:
        if len(raw) > 36:
            raise ValueError
        return uuid.UUID(raw)
    except ValueError:
        fail(400, "invalid_id", f"{what} id must be a UUID")


def parse_scene_id(request: web.Request) -> uuid.UUID:
    return parse_id(request, "scene_id", "scene")


_MAX_POSITION = 10_000_000  # far past any module's lines or columns; keeps the numbers plain


def parse_position(request: web.Request) -> tuple[int, int, str | None]:
    """`?line=L&column=C[&hash=H]`: 1-based line and column in a compiled module (as stack traces
    count them), and optionally which artifact (the hash in the frame's URL)."""
    values = []
    for key in ("line", "column"):
        raw = request.query.get(key)
        if raw is None:
            fail(400, "invalid_query", f"{key} is required: a whole number from 1 (as in a stack trace)")
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= _MAX_POSITION:
            fail(400, "invalid_query", f"{key} must be a whole number from 1 to {_MAX_POSITION}")
        values.append(int(raw))
    pinned = request.query.get("hash")
    if pinned is not None and not is_valid_hash(pinned):
        fail(400, "invalid_query", "hash must be 16 lowercase hex digits (the artifact's name)")
    return values[0], values[1], pinned


def client_key(request: web.Request, trusted_proxy_hops: int) -> str:
    """Who a compile-on-miss is charged to. With no trusted proxy, the peer address. Behind N proxies
    that each append the address they saw, the Nth X-Forwarded-For entry from the right is the one
    the outermost trusted proxy saw; everything left of it is the client's own (spoofable) text."""
    if trusted_proxy_hops > 0:
        hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",")]
        if len(hops) >= trusted_proxy_hops and hops[-trusted_proxy_hops]:
            return hops[-trusted_proxy_hops][:64]
    return request.remote or "unknown"


def tsx_code_of(data: dict[str, Any], c: AppContext) -> str:
    code = data.get("tsxCode")
    if not isinstance(code, str) or not code.strip():
        fail(400, "invalid_field", "tsxCode must be a non-empty string")
    if len(code.encode()) > c.settings.max_source_bytes:
        fail(413, "too_large", f"tsxCode is over the {c.settings.max_source_bytes} byte limit")
    return code


def optional_uuid(data: dict[str, Any], key: str) -> uuid.UUID | None:
    raw = data.get(key)
    if raw is None:
        return None
    try:
        if not isinstance(raw, str) or len(raw) > 36:
            raise ValueError
        return uuid.UUID(raw)
    except ValueError:
        fail(400, "invalid_field", f"{key} must be a UUID")


def optional_frames(data: dict[str, Any], key: str) -> int | None:
    """A scene's duration in frames (the table's `duration`); absent: the table's default."""
    raw = data.get(key)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= 1_000_000:
        fail(400, "invalid_field", f"{key} must be a whole number of frames from 1 to 1000000")
    return raw


# --- answers -------------------------------------------------------------------------------------

def metadata(service: CompilationService, scene: Scene) -> dict[str, Any]:
    return {
        "id": str(scene.id),
        "name": scene.name,
        "projectId": str(scene.project_id) if scene.project_id else None,
        "duration": scene.duration,
        "status": service.status_of(scene),
        "compiledHash": scene.compiled_hash,
        "compiledUrl": scene.compiled_url,
        "compiledAt": scene.compiled_at.isoformat() if scene.compiled_at else None,
        "compilationError": scene.compilation_error,
        "updatedAt": scene.updated_at.isoformat() if scene.updated_at else None,
    }


def brotli_if_asked(request: web.Request, tiers: ArtifactTiers, artifact: Artifact) -> None:
    if artifact.br is None and "br" in request.headers.get("Accept-Encoding", ""):
        tiers.want_brotli(artifact)  # served as gzip this time


# short: the artifact (and its map) may exist soon (a compile in progress)
NOT_FOUND_HEADERS = {**Cors.PUBLIC, "Cache-Control": "max-age=10"}


async def serve_source_map(request: web.Request, c: AppContext, hash: str) -> web.Response:
    """`<hash>.js.map` exactly as its module is served (immutable, ETag, gzip/br, CORS `*`); 404 when
    the artifact has none (maps are optional: the module works the same)."""
    source_map = await c.service.source_map(hash)
    if source_map is None:
        return error_response(404, "not_found", "no source map for this artifact", NOT_FOUND_HEADERS)
    brotli_if_asked(request, c.tiers, source_map)
    return serve_immutable(request, source_map)


async def position_answer(request: web.Request, c: AppContext, hash: str | None, line: int, column: int, *,
                          pinned: bool, scene_id: str | None, cors: dict[str, str]) -> web.Response:
    """The TSX position of (line, column) in artifact `hash`: 200 with nulls when nothing of a scene is
    there; 404 `no_source_map` when the artifact has no map (or there is no artifact). Strong ETag
    over the answer, so a `no-cache` one revalidates in a 304."""
    source_map = None if hash is None else await c.service.source_map(hash)
    if source_map is None or hash is None:
        fail(404, "no_source_map", "no source map for this module (it failed to compile, or was compiled "
             "without maps)")
    position = await c.positions.lookup(source_map, line, column)
    body = {"hash": hash, **position.to_json()}
    if body["sceneId"] is None and body["source"] is not None:
        body["sceneId"] = scene_id
    # pinned to one artifact, the answer never changes; else it follows the current artifact
    return validated_response(request, orjson.dumps(body), JSON_TYPE,
                              {**cors, "Cache-Control": IMMUTABLE if pinned else "no-cache"})


def serve_immutable(request: web.Request, artifact: Artifact) -> web.Response:
    """200/304 for immutable, content-addressed JS: strong ETag, one-year cache, negotiated encoding."""
    if etag_matches(request.headers.get("If-None-Match"), artifact.etag):
        return web.Response(status=304, headers=artifact.served["304"])
    encoding = choose_encoding(request.headers.get("Accept-Encoding"), brotli=artifact.br is not None)
    body = artifact.body(encoding)
    if request.method != "HEAD":
        ARTIFACT_BYTES[encoding].inc(len(body))
    return web.Response(body=body, headers=artifact.served[encoding])
