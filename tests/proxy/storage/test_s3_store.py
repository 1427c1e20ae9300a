"""S3Store specifics, against moto_server over HTTP: headers, keys, outages and timeouts."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from config.settings import Settings
from proxy.storage import CACHE_CONTROL, CONTENT_TYPE, S3Store, StorageUnavailable, create_store
from tests.fixtures_s3 import MotoServer, free_port

H1 = "0123456789abcdef"
CODE = b"export default function Scene(){return null}\n"

Op = Callable[[S3Store], Awaitable[object]]
OPERATIONS: dict[str, Op] = {
    "get": lambda s: s.get(H1),
    "put": lambda s: s.put(H1, CODE),
    "exists": lambda s: s.exists(H1),
    "delete": lambda s: s.delete(H1),
    "check": lambda s: s.check(),
}


def s3_store(settings: Settings) -> S3Store:
    store = create_store(settings)
    assert isinstance(store, S3Store)
    return store


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A port that accepts TCP connections (kernel backlog) but never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


async def test_object_is_uploaded_with_content_type_and_immutable_cache_control(
    s3_settings: Settings, s3_client: Any, s3_bucket: str
) -> None:
    store = s3_store(s3_settings)
    await store.put(H1, CODE)
    head = s3_client.head_object(Bucket=s3_bucket, Key=f"components/{H1}.js")
    assert head["ContentType"] == CONTENT_TYPE == "text/javascript; charset=utf-8"
    assert head["CacheControl"] == CACHE_CONTROL == "max-age=31536000, immutable"
    assert head["ContentLength"] == len(CODE)
    await store.close()


async def test_a_map_is_uploaded_beside_its_module_as_json_and_immutable(
    s3_settings: Settings, s3_client: Any, s3_bucket: str
) -> None:
    store = s3_store(s3_settings)
    await store.put(H1, b'{"version":3}', "map")
    head = s3_client.head_object(Bucket=s3_bucket, Key=f"components/{H1}.js.map")
    assert head["ContentType"] == "application/json; charset=utf-8"
    assert head["CacheControl"] == CACHE_CONTROL
    assert await store.get(H1, "map") == b'{"version":3}' and await store.get(H1) is None
    await store.close()


async def test_second_put_is_refused_by_the_conditional_write(s3_settings: Settings) -> None:
    store = s3_store(s3_settings)
    await store.put(H1, CODE)
    await store.put(H1, b"other bytes")
    assert await store.get(H1) == CODE
    assert store._conditional_put is True  # If-None-Match: * understood, no fallback to HEAD+PUT
    await store.close()


async def test_bucket_without_prefix_keys_objects_at_the_root(
    s3_server: str, s3_client: Any, s3_bucket: str
) -> None:
    store = s3_store(Settings(storage_url=f"s3://{s3_bucket}", s3_endpoint_url=s3_server))
    assert store.key(H1) == f"{H1}.js"
    await store.put(H1, CODE)
    assert s3_client.get_object(Bucket=s3_bucket, Key=f"{H1}.js")["Body"].read() == CODE
    await store.close()


async def test_nested_prefix_is_kept(s3_server: str, s3_client: Any, s3_bucket: str) -> None:
    store = s3_store(Settings(storage_url=f"s3://{s3_bucket}/a/b/", s3_endpoint_url=s3_server))
    await store.put(H1, CODE)
    assert s3_client.head_object(Bucket=s3_bucket, Key=f"a/b/{H1}.js")["ContentLength"] == len(CODE)
    await store.close()


async def test_put_without_conditional_write_support_is_still_a_noop(
    s3_settings: Settings, s3_client: Any, s3_bucket: str
) -> None:
    store = s3_store(s3_settings)
    store._conditional_put = False  # as after detecting an emulator that rejects If-None-Match
    await store.put(H1, CODE)
    await store.put(H1, b"other bytes")
    assert await store.get(H1) == CODE
    head = s3_client.head_object(Bucket=s3_bucket, Key=f"components/{H1}.js")
    assert head["ContentType"] == CONTENT_TYPE
    await store.close()


async def test_object_deleted_behind_the_store_reads_as_absent(
    s3_settings: Settings, s3_client: Any, s3_bucket: str
) -> None:
    store = s3_store(s3_settings)
    await store.put(H1, CODE)
    s3_client.delete_object(Bucket=s3_bucket, Key=f"components/{H1}.js")
    assert await store.get(H1) is None
    assert await store.exists(H1) is False
    await store.close()


async def test_check_of_a_missing_bucket_raises_storage_unavailable(
    s3_server: str, s3_credentials: dict[str, str]
) -> None:
    store = s3_store(Settings(storage_url="s3://no-such-bucket-here/x", s3_endpoint_url=s3_server))
    with pytest.raises(StorageUnavailable):
        await store.check()
    await store.close()


@pytest.mark.parametrize("op", OPERATIONS, ids=str)
async def test_stopped_endpoint_raises_storage_unavailable_within_the_timeout(
    s3_credentials: dict[str, str], op: str
) -> None:
    timeout = 1.0
    settings = Settings(
        storage_url="s3://bucket/components",
        s3_endpoint_url=f"http://127.0.0.1:{free_port()}",  # nothing listens there
        storage_timeout_seconds=timeout,
    )
    store = s3_store(settings)
    started = time.monotonic()
    with pytest.raises(StorageUnavailable):
        await OPERATIONS[op](store)
    assert time.monotonic() - started < timeout + 0.5
    await store.close()


@pytest.mark.parametrize("op", ["get", "put", "check"], ids=str)
async def test_unresponsive_endpoint_times_out_without_blocking_the_event_loop(
    s3_credentials: dict[str, str], silent_endpoint: str, op: str
) -> None:
    timeout = 0.5
    settings = Settings(
        storage_url="s3://bucket/components", s3_endpoint_url=silent_endpoint, storage_timeout_seconds=timeout
    )
    store = s3_store(settings)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    started = time.monotonic()
    with pytest.raises(StorageUnavailable, match="timed out"):
        await OPERATIONS[op](store)
    elapsed = time.monotonic() - started
    ticking.cancel()
    assert timeout - 0.05 <= elapsed < timeout + 0.5
    assert ticks >= 20  # the loop kept running while the call hung in a worker thread
    await store.close()


async def test_store_recovers_when_the_endpoint_comes_back(s3_server_control: MotoServer) -> None:
    bucket = s3_server_control.create_bucket()
    store = s3_store(s3_server_control.settings(bucket, storage_timeout_seconds=2.0))
    await store.put(H1, CODE)
    assert await store.get(H1) == CODE

    s3_server_control.stop()
    with pytest.raises(StorageUnavailable):
        await store.get(H1)
    with pytest.raises(StorageUnavailable):
        await store.check()

    s3_server_control.start()  # moto keeps nothing across restarts: an empty server
    s3_server_control.create_bucket(bucket)
    await store.check()
    assert await store.get(H1) is None
    await store.put(H1, CODE)
    assert await store.get(H1) == CODE
    await store.close()


async def test_closed_store_raises_storage_unavailable(s3_settings: Settings) -> None:
    store = s3_store(s3_settings)
    await store.close()
    with pytest.raises(StorageUnavailable):
        await store.get(H1)
