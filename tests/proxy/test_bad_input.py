"""Bad input gets a clear 4xx with a JSON error body and changes nothing."""

from __future__ import annotations

import uuid

from aiohttp.test_utils import TestClient

from tests.fixtures_backends import AUTH
from tests.proxy.conftest import GOOD


async def test_writes_need_the_admin_token(embedded_client: TestClient) -> None:
    r = await embedded_client.post("/api/scenes", json={"tsxCode": GOOD})
    assert r.status == 401 and (await r.json())["error"]["code"] == "unauthorized"
    r = await embedded_client.post("/api/scenes", json={"tsxCode": GOOD}, headers={"Authorization": "Bearer nope"})
    assert r.status == 401
    r = await embedded_client.put(f"/api/scenes/{uuid.uuid4()}", json={"tsxCode": GOOD})
    assert r.status == 401


async def test_without_a_configured_token_writes_are_refused_with_instructions(aiohttp_client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from config import Settings
    from proxy.app import create_app

    settings = Settings(database_url=f"sqlite:///{tmp_path}/db.sqlite3", storage_url=f"file://{tmp_path}/a",
                        compile_workers=1)
    client = await aiohttp_client(create_app(settings))
    r = await client.post("/api/scenes", json={"tsxCode": GOOD}, headers=AUTH)
    assert r.status == 403 and "PROXY_ADMIN_TOKEN" in (await r.json())["error"]["message"]


async def test_bodies_are_validated(embedded_client: TestClient) -> None:
    c = embedded_client
    r = await c.post("/api/scenes", data=b"{not json", headers={**AUTH, "Content-Type": "application/json"})
    assert r.status == 400 and (await r.json())["error"]["code"] == "invalid_json"
    r = await c.post("/api/scenes", data=b"tsxCode=x", headers={**AUTH, "Content-Type": "text/plain"})
    assert r.status == 415
    r = await c.post("/api/scenes", json=[1, 2], headers=AUTH)
    assert r.status == 400
    r = await c.post("/api/scenes", json={"tsxCode": 5}, headers=AUTH)
    assert r.status == 400
    r = await c.post("/api/scenes", json={"tsxCode": GOOD, "id": "nope"}, headers=AUTH)
    assert r.status == 400
    r = await c.post("/api/scenes", json={"tsxCode": "x" * (600 * 1024)}, headers=AUTH)
    assert r.status == 413
    r = await c.post("/api/scenes", data=b"x" * (2 * 1024 * 1024), headers={**AUTH, "Content-Type": "application/json"})
    assert r.status == 413


async def test_creating_an_existing_id_conflicts_and_keeps_the_original(embedded_client: TestClient) -> None:
    sid = str(uuid.uuid4())
    r = await embedded_client.post("/api/scenes", json={"tsxCode": GOOD, "id": sid}, headers=AUTH)
    assert r.status == 201
    r = await embedded_client.post("/api/scenes", json={"tsxCode": "const A = 1;", "id": sid}, headers=AUTH)
    assert r.status == 409
    meta = await (await embedded_client.get(f"/api/components/{sid}/metadata")).json()
    assert meta["status"] == "ready"


async def test_cors_preflight_is_answered(embedded_client: TestClient) -> None:
    r = await embedded_client.options("/api/scenes", headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert r.status == 204
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "PUT" in r.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Expose-Headers" not in r.headers  # browsers read it from the actual answer only


async def test_unknown_routes_and_methods_answer_json(embedded_client: TestClient) -> None:
    r = await embedded_client.get("/nope")
    assert r.status == 404 and (await r.json())["error"]["code"] == "not_found"
    r = await embedded_client.delete("/api/scenes/x")
    assert r.status == 405


async def test_error_answers_stay_out_of_shared_caches(embedded_client: TestClient) -> None:
    """A 404 for a scene about to be created must not be kept by an edge's heuristics."""
    c = embedded_client
    for path in (f"/preview/{uuid.uuid4()}", f"/api/components/{uuid.uuid4()}/metadata", "/api/components/x",
                 "/no/such/route"):
        r = await c.get(path)
        assert 400 <= r.status < 500 and r.headers["Cache-Control"] == "no-store", (path, r.status, r.headers)
    r = await c.get("/components/0123456789abcdef.js")  # says otherwise: an unknown hash, briefly
    assert r.status == 404 and r.headers["Cache-Control"] == "max-age=10"
