"""What a compile's cluster leader shares with its waiters (proxy/outcomes.py), alone and carried by
the real lease on the machine's Redis (the test's private key prefix)."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from cache.bus import RedisBus
from core.compiler import CompileError
from proxy.outcomes import CompileOutcomes
from tests.cache.nodes import pair


def test_a_source_error_survives_the_trip_to_a_waiter() -> None:
    codec = CompileOutcomes()
    detail = codec.encode(CompileError("Unexpected token", kind="syntax", line=3, column=7, line_text="<div"))
    assert detail is not None
    back = codec.decode(detail)
    assert isinstance(back, CompileError)
    assert (back.message, back.kind, back.line, back.column, back.line_text) == (
        "Unexpected token", "syntax", 3, 7, "<div")


@pytest.mark.parametrize("error", [CompileError("worker timed out", kind="timeout"),
                                   CompileError("worker died", kind="crash"),
                                   CompileError("queue full", kind="overloaded"),
                                   ValueError("project too large")])
def test_a_failure_of_ours_or_of_another_kind_is_not_shared(error: BaseException) -> None:
    assert CompileOutcomes().encode(error) is None


@pytest.mark.parametrize("detail", ["not json", "[1, 2]", '{"kind": "timeout", "message": "x"}',
                                    '{"kind": "martian", "message": "x"}'])
def test_a_detail_that_is_not_a_source_error_makes_the_waiter_compile(detail: str) -> None:
    assert CompileOutcomes().decode(detail) is None


async def test_a_waiter_gets_the_leaders_syntax_error_without_compiling_but_compiles_after_a_timeout(
    redis_client: aioredis.Redis, redis_prefix: str, redis_buses: list[RedisBus],
) -> None:
    a, b = await pair(redis_client, redis_prefix, redis_buses, ttl=10.0, wait=30.0, outcomes=CompileOutcomes())
    compiled: list[str] = []

    async def waiter_compiles() -> str:
        compiled.append("b")
        return "b's module"

    async def race(key: str, leader_error: CompileError) -> str:
        leading, may_fail = asyncio.Event(), asyncio.Event()

        async def leader_compiles() -> str:
            leading.set()
            await may_fail.wait()
            raise leader_error

        leader = asyncio.create_task(a.lease.run(key, leader_compiles))
        await asyncio.wait_for(leading.wait(), 2)
        waiter = asyncio.create_task(b.lease.run(key, waiter_compiles))
        await asyncio.sleep(0.1)  # b reaches its wait (one SET NX on the local Redis)
        may_fail.set()
        with pytest.raises(CompileError):
            await leader
        return await asyncio.wait_for(waiter, 2)

    with pytest.raises(CompileError) as caught:
        await race("syntax-hash", CompileError("Expected ';'", kind="syntax", line=2, column=5))
    assert (caught.value.kind, caught.value.line, caught.value.message) == ("syntax", 2, "Expected ';'")
    assert compiled == []
    assert await race("timeout-hash", CompileError("timed out", kind="timeout")) == "b's module"
    assert compiled == ["b"]
