"""The cluster lease's races (cache/lease.py), fast and deterministic: two "processes" are two
RedisLease objects on the machine's Redis under the test's private key prefix, each with its own
pub/sub bus. Work is gated by asyncio.Events, so each race happens in the order the test says."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
import redis.asyncio as aioredis

from cache.bus import RedisBus
from tests.cache.nodes import Node, count, pair

KEY = "hash123"
WAITER = "artifact_proxy_singleflight_total"
# how long a waiter is given to reach its wait (one SET NX on the local Redis) before the leader ends
SETTLE = 0.1


def lease_key(prefix: str) -> str:
    return f"{prefix}lease:{KEY}"


def gated(name: str, log: list[str], result: object = None) -> tuple[asyncio.Event, asyncio.Event,
                                                                       Callable[[], Awaitable[object]]]:
    """Work that says when it started and finishes only when the test lets it."""
    working, may_finish = asyncio.Event(), asyncio.Event()

    async def work() -> object:
        log.append(f"{name} starts")
        working.set()
        await may_finish.wait()
        log.append(f"{name} ends")
        return name if result is None else result

    return working, may_finish, work


async def test_only_the_token_that_holds_the_lease_can_release_or_renew_it(
    redis_client: aioredis.Redis, redis_prefix: str, redis_buses: list[RedisBus],
) -> None:
    node = await Node(redis_client, redis_prefix, ttl=1.0, wait=1.0).start(redis_buses)
    key = lease_key(redis_prefix)
    await redis_client.set(key, "owner", px=1000)
    assert await node.lease._release(keys=[key], args=["not-the-owner"]) == 0
    assert await node.lease._renew(keys=[key], args=["not-the-owner", 60_000]) == 0
    assert await redis_client.get(key) == b"owner" and await redis_client.pttl(key) <= 1000
    assert await node.lease._renew(keys=[key], args=["owner", 60_000]) == 1
    assert await redis_client.pttl(key) > 1000
    assert await node.lease._release(keys=[key], args=["owner"]) == 1
    assert not await redis_client.exists(key)


async def test_a_leader_that_works_past_the_lease_ttl_keeps_it_by_renewing(
    redis_client: aioredis.Redis, redis_prefix: str, redis_buses: list[RedisBus],
) -> None:
    a, b = await pair(redis_client, redis_prefix, redis_buses, ttl=0.3, wait=5.0)
    runs: list[str] = []

    async def work(name: str, seconds: float) -> str:
        runs.append(f"{name} starts")
        await asyncio.sleep(seconds)
        runs.append(f"{name} ends")
        return name

    leader = asyncio.create_task(a.lease.run(KEY, lambda: work("a", 0.65)))  # over twice the TTL
    await asyncio.sleep(0.05)
    assert await b.lease.run(KEY, lambda: work("b", 0.0)) == "b"
    assert await leader == "a"
    # b never worked beside a: it ran only after a's outcome
    assert runs == ["a starts", "a ends", "b starts", "b ends"]


async def test_a_lease_that_runs_out_while_its_owner_compiles_goes_to_another_node_and_the_late_owner_cannot_release_it(
    redis_client: aioredis.Redis, redis_prefix: str, redis_buses: list[RedisBus],
) -> None:
    a, b = await pair(redis_client, redis_prefix, redis_buses, ttl=1.0, wait=5.0)
    key = lease_key(redis_prefix)
    log: list[str] = []
    a_working, a_may_finish, a_work = gated("a", log)
    b_working, b_may_finish, b_work = gated("b", log)

    leader = asyncio.create_task(a.lease.run(KEY, a_work))
    await asyncio.wait_for(a_working.wait(), 2)
    a_token = await redis_client.get(key)
    # a's lease runs out while it still compiles (its renewals lost to a long pause or a partition)
    await redis_client.delete(key)
    second = asyncio.create_task(b.lease.run(KEY, b_work))
    await asyncio.wait_for(b_working.wait(), 2)  # b took the free lease and works beside a
    b_token = await redis_client.get(key)
    assert b_token is not None and b_token != a_token

    a_may_finish.set()
    assert await leader == "a"  # a finishes late and "releases"...
    assert await redis_client.get(key) == b_token  # ...a no-op: the lease is b's
    b_may_finish.set()
    assert await second == "b"
    assert not await redis_client.exists(key)  # b's own release removed it
    assert log == ["a starts", "b starts", "a ends", "b ends"]


async def test_a_waiter_is_woken_by_the_leaders_message_long_before_the_lease_would_run_out(
    redis_client: aioredis.Redis, redis_prefix: str, redis_buses: list[RedisBus],
) -> None:
    a, b = await pair(redis_client, redis_prefix, redis_buses, ttl=10.0, wait=30.0)
    log: list[str] = []
    a_working, a_may_finish, a_work = gated("a", log)
    woken_before = count(WAITER, role="cluster_waiter")

    async def b_work() -> str:
        log.append("b runs")
        return "b"

    leader = asyncio.create_task(a.lease.run(KEY, a_work))
    await asyncio.wait_for(a_working.wait(), 2)
    follower = asyncio.create_task(b.lease.run(KEY, b_work))
    await asyncio.sleep(SETTLE)
    assert not follower.done()  # b waits on a
    started_at = time.monotonic()
    a_may_finish.set()
    assert await asyncio.wait_for(follower, 2) == "b"
    assert time.monotonic() - started_at < 1.0  # the 10 s lease never had to run out
    assert await leader == "a"
    assert log == ["a starts", "a ends", "b runs"]
    assert count(WAITER, role="cluster_waiter") == woken_before + 1  # woken as a waiter, not a new leader


async def test_a_lost_wake_up_costs_a_waiter_one_lease_period_and_then_it_takes_the_lease(
    redis_client: aioredis.Redis, redis_prefix: str, redis_buses: list[RedisBus],
) -> None:
    ttl = 0.3
    a, b = await pair(redis_client, redis_prefix, redis_buses, ttl=ttl, wait=5.0)
    await b.bus.close()  # b's listener unsubscribes: the leader's "done" message never reaches it
    log: list[str] = []
    a_working, a_may_finish, a_work = gated("a", log)

    async def b_work() -> str:
        log.append("b runs")
        return "b"

    leader = asyncio.create_task(a.lease.run(KEY, a_work))
    await asyncio.wait_for(a_working.wait(), 2)
    started_at = time.monotonic()
    follower = asyncio.create_task(b.lease.run(KEY, b_work))
    await asyncio.sleep(SETTLE)
    a_may_finish.set()
    assert await leader == "a"
    assert await asyncio.wait_for(follower, 3) == "b"
    waited = time.monotonic() - started_at
    assert log == ["a starts", "a ends", "b runs"]
    # not woken (the message was lost): it polled the lease when it could have expired, found it free
    assert ttl * 0.9 < waited < ttl + 0.5, waited


async def test_a_waiter_whose_leader_never_finishes_works_itself_after_its_wait_bound(
    redis_client: aioredis.Redis, redis_prefix: str, redis_buses: list[RedisBus],
) -> None:
    bound = 0.4
    a = await Node(redis_client, redis_prefix, ttl=0.2, wait=30.0).start(redis_buses)
    b = await Node(redis_client, redis_prefix, ttl=0.2, wait=bound).start(redis_buses)
    log: list[str] = []
    a_working, a_may_finish, a_work = gated("a", log)
    leader = asyncio.create_task(a.lease.run(KEY, a_work))  # renews for as long as it works
    try:
        await asyncio.wait_for(a_working.wait(), 2)
        started_at = time.monotonic()
        assert await b.lease.run(KEY, lambda: asyncio.sleep(0, result="b")) == "b"
        waited = time.monotonic() - started_at
        assert bound * 0.9 < waited < bound + 0.5, waited
        assert not leader.done()  # b did not wait for a: it gave up on it
    finally:
        a_may_finish.set()
        await leader


async def test_a_failure_the_codec_shares_is_raised_in_the_waiter_without_running_its_work(
    redis_client: aioredis.Redis, redis_prefix: str, redis_buses: list[RedisBus],
) -> None:
    codec = Codec()
    a, b = await pair(redis_client, redis_prefix, redis_buses, ttl=10.0, wait=30.0, outcomes=codec)
    a_working, a_may_finish = asyncio.Event(), asyncio.Event()
    ran: list[str] = []

    async def a_work() -> str:
        a_working.set()
        await a_may_finish.wait()
        raise ValueError("shared: the source is wrong")

    async def b_work() -> str:
        ran.append("b")
        return "b"

    leader = asyncio.create_task(a.lease.run(KEY, a_work))
    await asyncio.wait_for(a_working.wait(), 2)
    follower = asyncio.create_task(b.lease.run(KEY, b_work))
    await asyncio.sleep(SETTLE)
    a_may_finish.set()
    with pytest.raises(ValueError, match="the source is wrong"):
        await leader
    with pytest.raises(Adopted, match="shared: the source is wrong"):
        await asyncio.wait_for(follower, 2)
    assert ran == []
    assert codec.encoded == ["shared: the source is wrong"]


async def test_a_failure_the_codec_does_not_share_lets_the_waiter_run_its_own_work(
    redis_client: aioredis.Redis, redis_prefix: str, redis_buses: list[RedisBus],
) -> None:
    codec = Codec()
    a, b = await pair(redis_client, redis_prefix, redis_buses, ttl=10.0, wait=30.0, outcomes=codec)
    a_working, a_may_finish = asyncio.Event(), asyncio.Event()

    async def a_work() -> str:
        a_working.set()
        await a_may_finish.wait()
        raise ValueError("private: our worker timed out")

    leader = asyncio.create_task(a.lease.run(KEY, a_work))
    await asyncio.wait_for(a_working.wait(), 2)
    started_at = time.monotonic()
    follower = asyncio.create_task(b.lease.run(KEY, lambda: asyncio.sleep(0, result="b")))
    await asyncio.sleep(SETTLE)
    a_may_finish.set()
    with pytest.raises(ValueError):
        await leader
    assert await asyncio.wait_for(follower, 2) == "b"
    assert time.monotonic() - started_at < 1.0  # woken by the message, then worked
    assert codec.decoded == []  # nothing was shared, so nothing was read


async def test_an_outcome_nobody_can_read_wakes_the_waiter_to_work_instead_of_failing(
    redis_client: aioredis.Redis, redis_prefix: str, redis_buses: list[RedisBus],
) -> None:
    b = await Node(redis_client, redis_prefix, ttl=10.0, wait=30.0, outcomes=Codec()).start(redis_buses)
    await redis_client.set(lease_key(redis_prefix), "another-version", px=10_000)
    follower = asyncio.create_task(b.lease.run(KEY, lambda: asyncio.sleep(0, result="b")))
    deadline = time.monotonic() + 2
    while not follower.done() and time.monotonic() < deadline:  # until b is listening and wakes
        await redis_client.publish(f"{redis_prefix}done:{KEY}", b"\x00not json")
        await asyncio.sleep(0.05)
    assert await asyncio.wait_for(follower, 0.1) == "b"


async def test_without_redis_the_work_runs_locally_and_nothing_fails() -> None:
    dead = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    node = Node(dead, "unused:", ttl=1.0, wait=1.0)
    try:
        assert await node.lease.run(KEY, lambda: asyncio.sleep(0, result="local")) == "local"
    finally:
        await dead.aclose()


class Adopted(Exception):
    """What a waiter raises for a failure the leader shared."""


class Codec:
    """An OutcomeCodec of the test's own: shares ValueErrors whose text starts with "shared:"."""

    def __init__(self) -> None:
        self.encoded: list[str] = []
        self.decoded: list[str] = []

    def encode(self, error: BaseException) -> str | None:
        text = str(error)
        if not text.startswith("shared:"):
            return None
        self.encoded.append(text)
        return text

    def decode(self, detail: str) -> BaseException | None:
        self.decoded.append(detail)
        return Adopted(detail)
