"""The walking skeleton on both backends: scenes in, immutable content-addressed modules out."""

from __future__ import annotations

import asyncio
import gzip
import re
import uuid

import brotli
from aiohttp.test_utils import TestClient

from tests.fixtures_backends import AUTH
from tests.proxy.conftest import BROKEN, GOOD, GOOD2

BARE_IMPORT = rb"""(?:\bfrom|\bimport)\s*\(?\s*["'](?![./]|[A-Za-z][A-Za-z0-9+.-]*:)[^"'\s]+["']"""


async def create(client: TestClient, code: str = GOOD, **extra: object) -> dict:
    r = await client.post("/api/scenes", json={"tsxCode": code, **extra}, headers=AUTH)
    assert r.status == 201, await r.text()
    return await r.json()


async def test_a_created_scene_redirects_to_its_immutable_module(client: TestClient) -> None:
    scene = await create(client)
    assert scene["status"] == "ready" and re.fullmatch(r"[0-9a-f]{16}", scene["compiledHash"])
    r = await client.get(f"/api/components/{scene['id']}", allow_redirects=False)
    assert r.status == 302
    assert r.headers["Location"].endswith(f"/components/{scene['compiledHash']}.js")
    assert "no-cache" in r.headers["Cache-Control"]
    r = await client.get(r.headers["Location"], headers={"Accept-Encoding": "identity"})
    body = await r.read()
    assert r.status == 200
    assert r.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert r.headers["Cache-Control"] == "max-age=31536000, immutable"  # no `public`: max-age says it
    assert r.headers["ETag"] == f'"{scene["compiledHash"]}"'
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert b"export" in body and b"default" in body
    assert not re.search(BARE_IMPORT, body)


async def test_artifact_supports_304_head_gzip_and_brotli(client: TestClient) -> None:
    scene = await create(client)
    url = scene["compiledUrl"]
    plain = await (await client.get(url, headers={"Accept-Encoding": "identity"})).read()
    r = await client.get(url, headers={"If-None-Match": f'"{scene["compiledHash"]}"'})
    assert r.status == 304 and await r.read() == b""
    r = await client.get(url, headers={"If-None-Match": f'W/"other", "{scene["compiledHash"]}"'})
    assert r.status == 304
    r = await client.head(url)
    assert r.status == 200 and await r.read() == b""
    r = await client.get(url, headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    assert r.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in r.headers["Vary"]
    assert gzip.decompress(await r.read()) == plain
    # brotli-11 is computed off the request path: gzip answers a br client until it is ready
    for _ in range(100):
        r = await client.get(url, headers={"Accept-Encoding": "gzip;q=0.5, br"}, auto_decompress=False)
        body = await r.read()
        if r.headers["Content-Encoding"] == "br":
            break
        assert r.headers["Content-Encoding"] == "gzip" and gzip.decompress(body) == plain
        await asyncio.sleep(0.02)
    assert r.headers["Content-Encoding"] == "br"
    assert brotli.decompress(body) == plain


async def test_an_edit_changes_the_hash_and_the_redirect_follows(client: TestClient) -> None:
    scene = await create(client)
    r = await client.put(f"/api/scenes/{scene['id']}", json={"tsxCode": GOOD2}, headers=AUTH)
    edited = await r.json()
    assert r.status == 200 and edited["compiledHash"] != scene["compiledHash"]
    r = await client.get(f"/api/components/{scene['id']}", allow_redirects=False)
    assert r.headers["Location"].endswith(f"{edited['compiledHash']}.js")


async def test_metadata_revalidates_by_etag_until_the_scene_changes(client: TestClient) -> None:
    scene = await create(client)
    url = f"/api/components/{scene['id']}/metadata"
    first = await client.get(url)
    etag = first.headers["ETag"]
    assert first.status == 200 and first.headers["Cache-Control"] == "no-cache" and not etag.startswith("W/")
    again = await client.get(url, headers={"If-None-Match": etag})
    assert again.status == 304 and not await again.read()
    assert again.headers["ETag"] == etag and again.headers["Cache-Control"] == "no-cache"
    assert (await client.get(url, headers={"If-None-Match": '"0123456789abcdef"'})).status == 200
    r = await client.put(f"/api/scenes/{scene['id']}", json={"tsxCode": GOOD2}, headers=AUTH)
    assert r.status == 200
    after = await client.get(url, headers={"If-None-Match": etag})  # the edit changed the answer: no 304
    assert after.status == 200 and after.headers["ETag"] != etag
    assert (await after.json())["compiledHash"] == (await r.json())["compiledHash"]


async def test_preview_revalidates_by_etag_and_each_frame_is_its_own_page(client: TestClient) -> None:
    scene = await create(client)
    url = f"/preview/{scene['id']}"
    page = await client.get(url)
    etag = page.headers["ETag"]
    assert page.status == 200 and page.headers["Cache-Control"] == "no-cache"
    again = await client.get(url, headers={"If-None-Match": etag})
    assert again.status == 304 and not await again.read()
    assert again.headers["Content-Security-Policy"] == page.headers["Content-Security-Policy"]
    still = await client.get(url + "?frame=12", headers={"If-None-Match": etag})
    assert still.status == 200 and still.headers["ETag"] != etag


async def test_an_edit_that_fails_to_compile_keeps_the_last_good_artifact(client: TestClient) -> None:
    scene = await create(client)
    r = await client.put(f"/api/scenes/{scene['id']}", json={"tsxCode": BROKEN}, headers=AUTH)
    assert r.status == 200
    meta = await (await client.get(f"/api/components/{scene['id']}/metadata")).json()
    assert meta["status"] == "error" and "1:" in meta["compilationError"]
    assert meta["compiledHash"] == scene["compiledHash"]
    r = await client.get(f"/api/components/{scene['id']}", allow_redirects=False)
    assert r.status == 302 and r.headers["Location"].endswith(f"{scene['compiledHash']}.js")
    assert r.headers["X-Compilation-Error"]
    # the broken code itself was saved: fixing it compiles the fix, nothing was lost
    r = await client.put(f"/api/scenes/{scene['id']}", json={"tsxCode": GOOD2}, headers=AUTH)
    assert (await r.json())["status"] == "ready"


async def test_a_scene_that_never_compiled_gets_a_module_rendering_its_error(client: TestClient) -> None:
    scene = await create(client, BROKEN)
    assert scene["status"] == "error" and scene["compiledHash"] is None
    r = await client.get(f"/api/components/{scene['id']}", allow_redirects=False)
    body = await r.read()
    assert r.status == 200 and "javascript" in r.headers["Content-Type"]
    assert "no-store" in r.headers["Cache-Control"]
    assert b"export" in body and not re.search(BARE_IMPORT, body)


async def test_identical_code_in_two_scenes_shares_one_artifact(client: TestClient) -> None:
    a, b = await create(client), await create(client)
    assert a["id"] != b["id"] and a["compiledHash"] == b["compiledHash"]


async def test_ids_are_validated_before_any_lookup(client: TestClient) -> None:
    assert (await client.get("/api/components/not-a-uuid")).status == 400
    assert (await client.get(f"/api/components/{uuid.uuid4()}")).status == 404
    assert (await client.get(f"/api/components/{uuid.uuid4()}/metadata")).status == 404
    assert (await client.get("/components/zzzz.js")).status == 404
    assert (await client.get("/components/0123456789abcdef.js")).status == 404
    assert (await client.get("/components/..%2f..%2fetc%2fpasswd")).status == 404


async def test_compile_endpoint_answers_hash_or_error_with_position(client: TestClient) -> None:
    r = await client.post("/api/compile", json={"tsxCode": GOOD}, headers=AUTH)
    ok = await r.json()
    assert r.status == 200 and re.fullmatch(r"[0-9a-f]{16}", ok["hash"]) and ok["url"].endswith(".js")
    assert (await client.get(ok["url"])).status == 200
    r = await client.post("/api/compile", json={"tsxCode": BROKEN}, headers=AUTH)
    err = (await r.json())["error"]
    assert r.status == 422 and err["line"] == 1 and err["column"] > 0 and err["message"]


async def test_readyz_checks_every_dependency(client: TestClient) -> None:
    r = await client.get("/readyz")
    data = await r.json()
    assert r.status == 200 and data["checks"]["database"]["ok"] and data["checks"]["storage"]["ok"]
    assert (await client.get("/healthz")).status == 200


async def test_a_scene_created_with_a_duration_reports_it_and_a_bad_one_is_a_400(client: TestClient) -> None:
    r = await client.post("/api/scenes", json={"tsxCode": GOOD, "duration": 45}, headers=AUTH)
    assert r.status == 201 and (await r.json())["duration"] == 45
    for bad in (0, -1, 1.5, "45", True, 10**7):
        r = await client.post("/api/scenes", json={"tsxCode": GOOD, "duration": bad}, headers=AUTH)
        assert r.status == 400, bad
    r = await client.post("/api/scenes", json={"tsxCode": GOOD, "name": "x" * 256}, headers=AUTH)
    assert r.status == 400  # the product's name column holds 255
