"""Maps in the tiers: stored beside their module in a real local store, read back verified, a corrupt
copy a counted miss that is deleted, kept in an L1 of their own so they never evict a module."""

from __future__ import annotations

import json
from pathlib import Path

from cache.tiers import ArtifactTiers
from core import metrics
from proxy.http import immutable_headers, immutable_map_headers
from proxy.storage import LocalStore

HASH = "0123456789abcdef"
MAP = json.dumps({"version": 3, "sources": ["scene/x.tsx"], "sourcesContent": ["a"], "names": [],
                  "mappings": "AAAA"}).encode()


async def test_a_map_is_stored_beside_its_module_and_served_with_its_own_etag(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    tiers = ArtifactTiers(store, 1 << 20, None, immutable_headers, immutable_map_headers)
    await tiers.put_map(HASH, MAP)
    module = await tiers.put(HASH, b"export default 1;\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{HASH}.js", f"{HASH}.js.map"]
    found = await tiers.get_map(HASH)
    assert found is not None and found.kind == "map" and json.loads(found.identity)["mappings"] == "AAAA"
    assert found.etag == f'"{HASH}.map"' != module.etag
    assert found.served["identity"]["Content-Type"].startswith("application/json")
    assert found.served["identity"]["Cache-Control"] == module.served["identity"]["Cache-Control"]
    assert tiers.peek(HASH) is module and tiers.maps.get(HASH) is found  # separate L1s
    await store.close()


async def test_a_corrupt_map_is_a_counted_miss_and_is_deleted(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    tiers = ArtifactTiers(store, 1 << 20, None, immutable_headers, immutable_map_headers)
    await tiers.put_map(HASH, MAP)
    path = tmp_path / f"{HASH}.js.map"
    path.write_bytes(path.read_bytes().replace(b"AAAA", b"AAAC"))
    before = metrics.INTEGRITY_FAILURES.labels("storage")._value.get()
    assert await tiers.get_map(HASH) is None
    assert metrics.INTEGRITY_FAILURES.labels("storage")._value.get() == before + 1
    assert not path.exists()
    await store.close()
