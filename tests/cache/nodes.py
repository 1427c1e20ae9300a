"""Pieces for the cache's unit tests: "nodes" that are each a lease with its own pub/sub bus on the
machine's Redis (under the test's private key prefix), and a metric reader."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from prometheus_client import REGISTRY

from cache.bus import RedisBus
from cache.lease import OutcomeCodec, RedisLease


class Node:
    """One process's view of the cluster: a bus (its own pub/sub connection) and a lease over it."""

    def __init__(self, client: aioredis.Redis, prefix: str, ttl: float, wait: float,
                 outcomes: OutcomeCodec | None = None) -> None:
        self.bus = RedisBus(client, prefix, lambda _key: None, lambda: None, op_timeout=0.5)
        self.lease = RedisLease(client, self.bus, prefix, ttl_seconds=ttl, max_wait_seconds=wait,
                                outcomes=outcomes)

    async def start(self, started: list[RedisBus]) -> Node:
        """Listen; `started` is the redis_buses fixture, which closes the bus after the test."""
        started.append(self.bus)
        self.bus.start()
        await asyncio.wait_for(self.bus.connected.wait(), 5)
        return self


async def pair(client: aioredis.Redis, prefix: str, started: list[RedisBus], ttl: float, wait: float,
               outcomes: OutcomeCodec | None = None) -> tuple[Node, Node]:
    a = await Node(client, prefix, ttl, wait, outcomes).start(started)
    b = await Node(client, prefix, ttl, wait, outcomes).start(started)
    return a, b


def count(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0
