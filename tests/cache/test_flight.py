"""The compile flight (cache/flight.py over cache/singleflight.py and, across processes, the lease):
one call per key however many callers, errors shared but never kept, and a caller that goes away
takes nobody's compile with it. Compiles are functions gated by asyncio.Events."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as aioredis

from cache.bus import RedisBus
from cache.flight import CompileFlight
from cache.lease import RedisLease
from tests.cache.nodes import Node, count

V = TypeVar("V")
SINGLEFLIGHT = "artifact_proxy_singleflight_total"


class Compile:
    """A compile that counts its runs and finishes (or fails) when the test says."""

    def __init__(self, result: str = "module", error: Exception | None = None) -> None:
        self.result = result
        self.error = error
        self.runs = 0
        self.running = asyncio.Event()
        self.may_finish = asyncio.Event()
        self.cancelled = False

    async def __call__(self) -> str:
        self.runs += 1
        self.running.set()
        try:
            await self.may_finish.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        if self.error is not None:
            raise self.error
        return self.result


async def callers(flight: CompileFlight, compile: Compile, n: int, key: str = "k") -> list[asyncio.Task[str]]:
    tasks = [asyncio.create_task(flight.run(key, compile)) for _ in range(n)]
    await asyncio.wait_for(compile.running.wait(), 2)
    await asyncio.sleep(0)  # every caller has joined the flight
    return tasks


async def test_concurrent_callers_of_one_key_share_one_compile() -> None:
    flight, compile = CompileFlight(), Compile()
    leaders, waiters = count(SINGLEFLIGHT, role="leader"), count(SINGLEFLIGHT, role="waiter")
    tasks = await callers(flight, compile, 20)
    compile.may_finish.set()
    assert await asyncio.gather(*tasks) == ["module"] * 20
    assert compile.runs == 1
    assert count(SINGLEFLIGHT, role="leader") == leaders + 1
    assert count(SINGLEFLIGHT, role="waiter") == waiters + 19
    again = Compile("next module")
    again.may_finish.set()
    assert await flight.run("k", again) == "next module"  # nothing is kept once the call is over


async def test_different_keys_do_not_share_a_compile() -> None:
    flight, a, b = CompileFlight(), Compile("a"), Compile("b")
    ta, tb = await callers(flight, a, 3, key="a"), await callers(flight, b, 3, key="b")
    a.may_finish.set()
    b.may_finish.set()
    assert await asyncio.gather(*ta, *tb) == ["a"] * 3 + ["b"] * 3
    assert (a.runs, b.runs) == (1, 1)


async def test_an_error_reaches_every_waiter_and_is_not_cached() -> None:
    flight, compile = CompileFlight(), Compile(error=ValueError("Unexpected token"))
    tasks = await callers(flight, compile, 5)
    compile.may_finish.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, ValueError) and str(r) == "Unexpected token" for r in results)
    assert compile.runs == 1
    fixed = Compile("fixed")
    fixed.may_finish.set()
    assert await flight.run("k", fixed) == "fixed" and fixed.runs == 1  # the next call compiles again


async def test_cancelling_one_waiter_or_the_leader_does_not_cancel_the_compile_the_others_wait_for() -> None:
    flight, compile = CompileFlight(), Compile()
    leader, *others = await callers(flight, compile, 4)
    leader.cancel()  # the first caller's client went away
    others[0].cancel()  # and so did a waiter's
    await asyncio.sleep(0)
    compile.may_finish.set()
    assert await asyncio.gather(*others[1:]) == ["module", "module"]
    assert leader.cancelled() and others[0].cancelled()
    assert compile.runs == 1 and not compile.cancelled


class CountingLease:
    """The real lease, counting how often this process asks the cluster."""

    def __init__(self, inner: RedisLease) -> None:
        self.inner = inner
        self.calls = 0

    async def run(self, key: str, work: Callable[[], Awaitable[V]]) -> V:
        self.calls += 1
        return await self.inner.run(key, work)


async def test_a_process_asks_the_cluster_once_for_all_its_callers_and_two_processes_compile_in_turn(
    redis_client: aioredis.Redis, redis_prefix: str, redis_buses: list[RedisBus],
) -> None:
    a_lease = CountingLease((await Node(redis_client, redis_prefix, 10.0, 30.0).start(redis_buses)).lease)
    b_lease = CountingLease((await Node(redis_client, redis_prefix, 10.0, 30.0).start(redis_buses)).lease)
    on_a, on_b = CompileFlight(a_lease), CompileFlight(b_lease)
    a_compile, b_compile = Compile("a's module"), Compile("b's module")
    b_compile.may_finish.set()
    a_tasks = await callers(on_a, a_compile, 10)
    b_tasks = [asyncio.create_task(on_b.run("k", b_compile)) for _ in range(10)]
    await asyncio.sleep(0.1)  # b's leader reaches its wait on a's lease
    assert b_compile.runs == 0  # b waits for a instead of compiling beside it
    a_compile.may_finish.set()
    assert await asyncio.gather(*a_tasks) == ["a's module"] * 10
    # woken by a's message, b runs its work once (in the service it finds a's artifact stored)
    assert await asyncio.wait_for(asyncio.gather(*b_tasks), 2) == ["b's module"] * 10
    assert (a_compile.runs, b_compile.runs) == (1, 1)
    assert (a_lease.calls, b_lease.calls) == (1, 1)
