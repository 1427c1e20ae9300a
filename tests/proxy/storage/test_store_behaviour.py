"""Behaviour every ArtifactStore backend shares (run against a local directory and S3 over HTTP)."""

from __future__ import annotations

import asyncio
from typing import Any, NoReturn

import pytest

from proxy.storage import ArtifactStore
from tests.proxy.storage.conftest import Backend

H1 = "0123456789abcdef"
H2 = "fedcba9876543210"
CODE = b"export default function Scene(){return null}\n"

INVALID_HASHES: list[Any] = [
    "",
    "0123456789abcde",  # 15
    "0123456789abcdef0",  # 17
    "0123456789ABCDEF",  # upper case
    "0123456789abcdeg",  # not hex
    "../../etc/passwd",
    "../0123456789abcd",
    "0123456789abcd/.",
    "0123456789abcdef\n",
    "0123456789abcdef.js",
    "01234567\x0089abcdef",
    " 0123456789abcdef",
    "０１２３４５６７８９ａｂｃｄｅｆ",  # full-width digits and letters
    None,
    123,
    b"0123456789abcdef",
]


async def test_put_then_get_returns_the_same_bytes(store: ArtifactStore) -> None:
    await store.put(H1, CODE)
    assert await store.get(H1) == CODE


async def test_get_of_unknown_hash_returns_none(store: ArtifactStore) -> None:
    assert await store.get(H2) is None


async def test_exists_reflects_presence(store: ArtifactStore) -> None:
    assert await store.exists(H1) is False
    await store.put(H1, CODE)
    assert await store.exists(H1) is True
    assert await store.exists(H2) is False


async def test_put_of_existing_hash_is_a_noop_and_keeps_the_first_bytes(
    store: ArtifactStore, backend: Backend
) -> None:
    await store.put(H1, CODE)
    names = backend.list_names()
    await store.put(H1, b"something else entirely")
    assert await store.get(H1) == CODE
    assert backend.list_names() == names


async def test_delete_removes_the_object_and_is_idempotent(store: ArtifactStore) -> None:
    await store.put(H1, CODE)
    await store.put(H2, b"other")
    await store.delete(H1)
    assert await store.get(H1) is None
    assert await store.exists(H1) is False
    assert await store.get(H2) == b"other"
    await store.delete(H1)  # already gone: no error


async def test_delete_then_put_replaces_a_corrupt_copy(store: ArtifactStore) -> None:
    await store.put(H1, b"corrupt")
    await store.delete(H1)
    await store.put(H1, CODE)
    assert await store.get(H1) == CODE


async def test_round_trips_empty_and_large_objects(store: ArtifactStore) -> None:
    large = bytes(range(256)) * 4096  # 1 MiB, every byte value
    await store.put(H1, b"")
    await store.put(H2, large)
    assert await store.get(H1) == b""
    assert await store.get(H2) == large


async def test_keys_are_the_hash_with_a_js_suffix(store: ArtifactStore, backend: Backend) -> None:
    await store.put(H1, CODE)
    expected = f"components/{H1}.js" if backend.kind == "s3" else f"{H1}.js"
    assert backend.list_names() == [expected]


async def test_a_map_is_its_own_object_beside_the_module(store: ArtifactStore, backend: Backend) -> None:
    await store.put(H1, CODE)
    await store.put(H1, b'{"version":3}', "map")
    prefix = "components/" if backend.kind == "s3" else ""
    assert sorted(backend.list_names()) == [f"{prefix}{H1}.js", f"{prefix}{H1}.js.map"]
    assert await store.get(H1) == CODE and await store.get(H1, "map") == b'{"version":3}'
    assert await store.exists(H1, "map") and not await store.exists(H2, "map")
    await store.delete(H1, "map")
    assert await store.get(H1, "map") is None and await store.get(H1) == CODE


@pytest.mark.parametrize("bad", INVALID_HASHES, ids=repr)
async def test_invalid_hash_raises_value_error_without_touching_storage(
    store: ArtifactStore, backend: Backend, monkeypatch: pytest.MonkeyPatch, bad: Any
) -> None:
    def no_io(*args: object, **kwargs: object) -> NoReturn:
        raise AssertionError("storage was touched for an invalid hash")

    monkeypatch.setattr(store, "_run", no_io)
    before = backend.list_names()
    with pytest.raises(ValueError):
        await store.get(bad)
    with pytest.raises(ValueError):
        await store.put(bad, CODE)
    with pytest.raises(ValueError):
        await store.exists(bad)
    with pytest.raises(ValueError):
        await store.delete(bad)
    assert backend.list_names() == before


async def test_concurrent_puts_of_the_same_hash_leave_one_correct_object(
    store: ArtifactStore, backend: Backend
) -> None:
    payload = CODE * 2000
    await asyncio.gather(*(store.put(H1, payload) for _ in range(40)))
    assert await store.get(H1) == payload
    assert backend.list_names() == [f"components/{H1}.js" if backend.kind == "s3" else f"{H1}.js"]


async def test_concurrent_reads_during_a_write_see_nothing_or_everything(store: ArtifactStore) -> None:
    payload = bytes(range(256)) * 2048  # 512 KiB
    seen: list[bytes | None] = []

    async def reader() -> None:
        for _ in range(10):
            seen.append(await store.get(H1))

    await asyncio.gather(store.put(H1, payload), *(reader() for _ in range(5)))
    assert all(data is None or data == payload for data in seen)
    assert await store.get(H1) == payload


async def test_many_distinct_objects_in_parallel(store: ArtifactStore) -> None:
    hashes = [f"{i:016x}" for i in range(50)]
    await asyncio.gather(*(store.put(h, h.encode()) for h in hashes))
    results = await asyncio.gather(*(store.get(h) for h in hashes))
    assert results == [h.encode() for h in hashes]


async def test_check_passes_on_a_healthy_store(store: ArtifactStore) -> None:
    await store.check()


async def test_describe_names_the_location_without_credentials(
    store: ArtifactStore, backend: Backend
) -> None:
    text = store.describe()
    if backend.kind == "s3":
        assert text.startswith("s3://") and "/components" in text
        assert "testing" not in text  # the dummy secret
    else:
        assert text.startswith("file:/") and text.endswith("/artifacts")
