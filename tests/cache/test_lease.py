"""The cluster lease's races, fast and deterministic: two "processes" are two RedisLease objects on
the machine's Redis with a private key prefix, each with its own pub/sub bus."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from cache.bus import RedisBus
from cache.lease import RedisLease

KEY = "hash123"


class Node:
    def __init__(self, client: aioredis.Redis, prefix: str, ttl: float, wait: float) -> None:
        self.bus = RedisBus(client, prefix, lambda _key: None, lambda: None, op_timeout=0.5)
        self.lease = RedisLease(client, self.bus, prefix, ttl_seconds=ttl, max_wait_seconds=wait)


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    c = aioredis.Redis.from_url(redis_url)
    yield c
    await c.aclose()


async def nodes(client: aioredis.Redis, prefix: str, ttl: float = 0.3, wait: float = 5.0) -> tuple[Node, Node]:
    a, b = Node(client, prefix, ttl, wait), Node(client, prefix, ttl, wait)
    for node in (a, b):
        node.bus.start()
        await asyncio.wait_for(node.bus.connected.wait(), 5)
    return a, b


async def close(*all_nodes: Node) -> None:
    for node in all_nodes:
        await node.bus.close()


async def test_a_leader_that_works_past_the_lease_ttl_keeps_it_by_renewing(
    client: aioredis.Redis, redis_prefix: str,
) -> None:
    a, b = await nodes(client, redis_prefix, ttl=0.3)
    runs: list[str] = []

    async def work(name: str, seconds: float) -> str:
        runs.append(f"{name} starts")
        await asyncio.sleep(seconds)
        runs.append(f"{name} ends")
        return name

    try:
        leader = asyncio.create_task(a.lease.run(KEY, lambda: work("a", 1.0)))  # 3x the TTL
        await asyncio.sleep(0.05)
        follower = await b.lease.run(KEY, lambda: work("b-after", 0.0))
        assert await leader == "a"
        # b never worked beside a: it ran only after a's outcome
        assert runs == ["a starts", "a ends", "b-after starts", "b-after ends"]
        assert follower == "b-after"
    finally:
        await close(a, b)


async def test_a_lease_that_expired_under_its_leader_is_released_only_by_its_new_owner(
    client: aioredis.Redis, redis_prefix: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, b = await nodes(client, redis_prefix, ttl=0.2)

    async def no_renewal(*args: object, **kwargs: object) -> int:
        return 0  # a's renewals are lost (a long GC pause, a partition): its lease expires meanwhile

    monkeypatch.setattr(a.lease, "_renew", no_renewal)
    b_holds = asyncio.Event()
    b_may_finish = asyncio.Event()

    async def slow_a() -> str:
        await asyncio.sleep(0.6)
        return "a"

    async def b_work() -> str:
        b_holds.set()
        await b_may_finish.wait()
        return "b"

    try:
        leader = asyncio.create_task(a.lease.run(KEY, slow_a))
        await asyncio.sleep(0.05)
        second = asyncio.create_task(b.lease.run(KEY, b_work))
        await asyncio.wait_for(b_holds.wait(), 3)  # b took the expired lease while a still worked
        assert await leader == "a"  # a finishes and "releases"...
        assert await client.exists(f"{redis_prefix}lease:{KEY}")  # ...but the lease is b's: still there
        b_may_finish.set()
        assert await second == "b"
        assert not await client.exists(f"{redis_prefix}lease:{KEY}")  # b's own release removed it
    finally:
        await close(a, b)


async def test_a_waiter_is_woken_by_the_leaders_message_not_by_the_lease_expiring(
    client: aioredis.Redis, redis_prefix: str,
) -> None:
    a, b = await nodes(client, redis_prefix, ttl=10.0)

    async def lead() -> str:
        await asyncio.sleep(0.3)
        return "a"

    try:
        leader = asyncio.create_task(a.lease.run(KEY, lead))
        await asyncio.sleep(0.05)
        started = time.monotonic()
        assert await b.lease.run(KEY, lambda: asyncio.sleep(0, result="b")) == "b"
        assert time.monotonic() - started < 2.0  # the 10 s lease never had to run out
        assert await leader == "a"
    finally:
        await close(a, b)


async def test_a_lost_wake_up_costs_a_waiter_one_lease_period_then_it_takes_the_lease(
    client: aioredis.Redis, redis_prefix: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, b = await nodes(client, redis_prefix, ttl=0.5)

    async def lost(*args: object) -> None:
        return None  # the leader's "done" message never arrives

    monkeypatch.setattr(a.bus, "publish_done", lost)
    ran: list[str] = []

    async def lead() -> str:
        await asyncio.sleep(0.2)
        return "a"

    async def follow() -> str:
        ran.append("b")
        return "b"

    try:
        leader = asyncio.create_task(a.lease.run(KEY, lead))
        await asyncio.sleep(0.05)
        started = time.monotonic()
        assert await b.lease.run(KEY, follow) == "b"
        waited = time.monotonic() - started
        assert await leader == "a"
        assert ran == ["b"]
        assert 0.1 < waited < 2.0  # it polled the lease after at most one TTL, and then ran the work
    finally:
        await close(a, b)


async def test_without_redis_the_work_runs_locally_and_nothing_fails() -> None:
    dead = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    node = Node(dead, "unused:", ttl=1.0, wait=1.0)
    try:
        assert await node.lease.run(KEY, lambda: asyncio.sleep(0, result="local")) == "local"
    finally:
        await dead.aclose()
