"""The artifact tiers' fill policy (cache/tiers.py): L1 in-process -> L2 Redis (the machine's
server, the test's private key prefix) -> L3 the real local-directory store. The store and L2 are
wrapped only to count reads and, where a race needs it, to hold a read until the test lets it go."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cache.redis_tier import RedisTier, redis_cache
from cache.tiers import ArtifactTiers
from core.artifact import seal
from core.storage import StorageUnavailable
from proxy.storage.local import LocalStore
from tests.cache.nodes import count

INTEGRITY = "artifact_proxy_integrity_failures_total"
HASH = "0123456789abcdef"


def module(n: int, size: int = 200) -> tuple[str, bytes]:
    """A distinct module and a hash for it (the tiers take the hash as given)."""
    code = f"export default () => {n};\n".encode() + b"/*" + b"x" * size + b"*/\n"
    return f"{n:016x}", code


class CountingStore:
    """The real local store, counting reads; `hold` keeps every read waiting until it is set."""

    def __init__(self, inner: LocalStore) -> None:
        self.inner = inner
        self.reads = 0
        self.hold: asyncio.Event | None = None
        self.fail_next = 0

    async def get(self, hash: str) -> bytes | None:
        self.reads += 1
        if self.hold is not None:
            await self.hold.wait()
        if self.fail_next:
            self.fail_next -= 1
            raise StorageUnavailable("the bucket timed out")
        return await self.inner.get(hash)

    async def put(self, hash: str, data: bytes) -> None:
        await self.inner.put(hash, data)

    async def exists(self, hash: str) -> bool:
        return await self.inner.exists(hash)

    async def delete(self, hash: str) -> None:
        await self.inner.delete(hash)

    async def check(self) -> None:
        await self.inner.check()

    async def close(self) -> None:
        await self.inner.close()

    def describe(self) -> str:
        return "counting " + self.inner.describe()


class CountingL2:
    """The real Redis tier, counting artifact reads."""

    def __init__(self, inner: RedisTier) -> None:
        self.inner = inner
        self.reads = 0

    async def get_artifact(self, hash: str) -> bytes | None:
        self.reads += 1
        return await self.inner.get_artifact(hash)

    async def set_artifact(self, hash: str, sealed: bytes) -> None:
        await self.inner.set_artifact(hash, sealed)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[CountingStore]:
    s = CountingStore(LocalStore(tmp_path / "artifacts"))
    yield s
    await s.close()


@pytest.fixture
async def redis_tier(redis_url: str, redis_prefix: str) -> AsyncIterator[RedisTier]:
    tier = RedisTier(redis_cache(redis_url, redis_prefix, 0.5), redis_prefix, max_entry_bytes=4096,
                     mapping_ttl=60.0, op_timeout=0.5)
    yield tier
    await tier.close()


def tiers(store: CountingStore, l2: CountingL2 | None, l1_max_bytes: int = 1 << 20) -> ArtifactTiers:
    """One process's tiers; two calls with one store and L2 are two processes."""
    return ArtifactTiers(store, l1_max_bytes, l2)


async def test_an_l1_hit_reads_neither_redis_nor_storage(store: CountingStore, redis_tier: RedisTier) -> None:
    l2 = CountingL2(redis_tier)
    t = tiers(store, l2)
    stored = await t.put(HASH, b"export default 1;\n")
    for _ in range(3):
        assert await t.get(HASH) is stored
    assert (store.reads, l2.reads) == (0, 0)


async def test_a_stored_artifact_is_promoted_to_redis_and_l1_so_another_process_never_reads_storage(
    store: CountingStore, redis_tier: RedisTier,
) -> None:
    sealed = seal(b"export default 2;\n")
    await store.put(HASH, sealed)
    first, second = tiers(store, CountingL2(redis_tier)), tiers(store, l2 := CountingL2(redis_tier))
    assert first.peek(HASH) is None
    got = await first.get(HASH)
    assert got is not None and got.identity == sealed and store.reads == 1
    assert first.peek(HASH) is got  # filled L1
    assert await redis_tier.get_artifact(HASH) == sealed  # filled L2
    other = await second.get(HASH)  # another process: Redis answers
    assert other is not None and other.identity == sealed
    assert (store.reads, l2.reads) == (1, 1)
    assert second.peek(HASH) is other


async def test_concurrent_misses_of_one_hash_read_storage_once(store: CountingStore) -> None:
    sealed = seal(b"export default 3;\n")
    await store.put(HASH, sealed)
    t = tiers(store, None)
    store.hold = asyncio.Event()
    readers = [asyncio.create_task(t.get(HASH)) for _ in range(20)]
    await asyncio.sleep(0.05)  # every reader has missed L1 and waits on the one read
    store.hold.set()
    results = await asyncio.gather(*readers)
    assert store.reads == 1
    assert all(r is not None and r.identity == sealed for r in results)


async def test_a_storage_failure_reaches_every_concurrent_reader_and_the_next_read_tries_again(
    store: CountingStore,
) -> None:
    await store.put(HASH, seal(b"export default 4;\n"))
    t = tiers(store, None)
    store.hold, store.fail_next = asyncio.Event(), 1
    readers = [asyncio.create_task(t.get(HASH)) for _ in range(5)]
    await asyncio.sleep(0.05)
    store.hold.set()
    results = await asyncio.gather(*readers, return_exceptions=True)
    assert all(isinstance(r, StorageUnavailable) for r in results) and store.reads == 1
    assert await t.get(HASH) is not None  # the failure was not remembered
    assert store.reads == 2


async def test_a_corrupt_redis_copy_is_a_counted_miss_and_is_replaced_by_the_stored_one(
    store: CountingStore, redis_tier: RedisTier,
) -> None:
    sealed = seal(b"export default 5;\n")
    await store.put(HASH, sealed)
    await redis_tier.set_artifact(HASH, sealed.replace(b"5", b"6"))  # a flipped byte under the seal
    before = count(INTEGRITY, tier="l2")
    got = await tiers(store, CountingL2(redis_tier)).get(HASH)
    assert got is not None and got.identity == sealed
    assert count(INTEGRITY, tier="l2") == before + 1 and store.reads == 1
    assert await redis_tier.get_artifact(HASH) == sealed  # the good copy replaced it


async def test_a_corrupt_stored_copy_is_a_counted_miss_and_is_deleted_so_a_compile_can_rewrite_it(
    store: CountingStore,
) -> None:
    await store.put(HASH, seal(b"export default 7;\n")[:-3] + b"00\n")  # the seal no longer matches
    t = tiers(store, None)
    before = count(INTEGRITY, tier="storage")
    assert await t.get(HASH) is None
    assert count(INTEGRITY, tier="storage") == before + 1
    assert not await store.exists(HASH)
    await t.put(HASH, b"export default 7;\n")  # the repair compile
    assert await tiers(store, None).get(HASH) is not None


async def test_l1_stays_within_its_byte_budget_and_an_evicted_artifact_is_read_again(store: CountingStore) -> None:
    artifacts = [module(n) for n in range(6)]
    weight = (await tiers(store, None).put(*artifacts[0])).weight
    t = tiers(store, None, l1_max_bytes=3 * weight + 10)  # room for three
    for hash, code in artifacts:
        await t.put(hash, code)
    assert t.l1.bytes <= 3 * weight + 10 and len(t.l1) == 3
    oldest = artifacts[0][0]
    assert t.peek(oldest) is None and t.peek(artifacts[-1][0]) is not None
    assert await t.get(oldest) is not None and store.reads == 1  # served from storage, back in L1
    assert t.peek(oldest) is not None and t.l1.bytes <= 3 * weight + 10


async def test_an_artifact_larger_than_l1_is_served_but_never_kept_in_l1(store: CountingStore) -> None:
    hash, code = module(1, size=10_000)
    t = tiers(store, None, l1_max_bytes=4096)
    served = await t.put(hash, code)
    assert served.identity == seal(code) and t.peek(hash) is None and t.l1.bytes == 0
    assert await t.get(hash) is not None and store.reads == 1


async def test_an_artifact_over_the_redis_entry_cap_stays_out_of_redis(
    store: CountingStore, redis_tier: RedisTier,
) -> None:
    (big, big_code), (small, small_code) = module(1, size=5000), module(2, size=100)  # the cap is 4096
    t = tiers(store, CountingL2(redis_tier))
    await t.put(big, big_code)
    await t.put(small, small_code)
    assert await redis_tier.get_artifact(big) is None
    assert await redis_tier.get_artifact(small) == seal(small_code)
    other = tiers(store, CountingL2(redis_tier))
    assert await other.get(big) is not None and store.reads == 1  # only storage has it
