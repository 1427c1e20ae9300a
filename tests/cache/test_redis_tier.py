"""L2 (cache/redis_tier.py) on the machine's Redis under the test's private key prefix: versioned
mappings and their tombstones, the per-entry cap, remembered failures, and the breaker that keeps
a dead Redis off the hot path."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from cache.redis_tier import RedisTier, redis_cache


@pytest.fixture
async def tier(redis_url: str, redis_prefix: str) -> AsyncIterator[RedisTier]:
    t = RedisTier(redis_cache(redis_url, redis_prefix, 0.5), redis_prefix, 1024, 60.0, 0.5)
    yield t
    await t.close()


def now_us() -> int:
    return time.time_ns() // 1000


async def test_a_newer_mapping_wins_and_an_older_write_never_replaces_it(tier: RedisTier) -> None:
    await tier.set_mapping("s", 200, {"hash": "new"})
    await tier.set_mapping("s", 100, {"hash": "old"})  # a slow reader of the row before the edit
    assert await tier.get_mapping("s") == {"hash": "new"}
    await tier.set_mapping("s", 300, {"hash": "newer"})
    assert await tier.get_mapping("s") == {"hash": "newer"}


async def test_a_deleted_mapping_cannot_be_restored_by_a_read_from_before_the_delete(tier: RedisTier) -> None:
    before_delete = now_us()  # the version a slow reader took from the row
    await tier.set_mapping("s", before_delete, {"hash": "old"})
    await tier.delete_mapping("s")
    assert await tier.get_mapping("s") is None
    await tier.set_mapping("s", before_delete, {"hash": "old"})  # that slow reader writes late
    assert await tier.get_mapping("s") is None
    await tier.set_mapping("s", now_us() + 1, {"hash": "new"})  # a read after the change
    assert await tier.get_mapping("s") == {"hash": "new"}


async def test_an_artifact_over_the_entry_cap_is_not_stored(tier: RedisTier) -> None:
    await tier.set_artifact("aaaaaaaaaaaaaaaa", b"x" * 1024)
    await tier.set_artifact("bbbbbbbbbbbbbbbb", b"x" * 1025)
    assert await tier.get_artifact("aaaaaaaaaaaaaaaa") == b"x" * 1024
    assert await tier.get_artifact("bbbbbbbbbbbbbbbb") is None


async def test_a_remembered_failure_reads_back(tier: RedisTier) -> None:
    await tier.set_failure("cccccccccccccccc", b'{"kind":"timeout"}', ttl_seconds=1)
    assert await tier.get_failure("cccccccccccccccc") == b'{"kind":"timeout"}'
    assert await tier.get_failure("dddddddddddddddd") is None


async def test_a_dead_redis_is_a_miss_and_is_not_asked_again_during_the_breakers_second() -> None:
    dead = RedisTier(redis_cache("redis://127.0.0.1:1/0", "unused:", 0.3), "unused:", 1024, 60.0, 0.3)
    try:
        assert await dead.get_artifact("aaaaaaaaaaaaaaaa") is None  # a failure is a miss, not an error
        assert not dead.available
        started = time.monotonic()
        for _ in range(100):  # the hot path during the breaker's second: no connection attempts
            assert await dead.get_artifact("aaaaaaaaaaaaaaaa") is None
            assert await dead.get_mapping("s") is None
            await dead.set_artifact("aaaaaaaaaaaaaaaa", b"x")
        assert time.monotonic() - started < 0.05
    finally:
        await dead.close()
