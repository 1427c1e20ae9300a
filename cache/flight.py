"""The compile flight: in-process single-flight, optionally wrapped by the cluster lease.

Order matters: callers in one process collapse onto one local leader first, and only that leader
takes part in the cluster-wide lease, so N waiters in a process cost one Redis round trip."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar, cast

from cache.singleflight import SingleFlight
from core import metrics

V = TypeVar("V")


class ClusterLease(Protocol):
    async def run(self, key: str, work: Callable[[], Awaitable[V]]) -> V: ...


class CompileFlight:
    def __init__(self, cluster: ClusterLease | None = None) -> None:
        self.local: SingleFlight[str, object] = SingleFlight()
        self.cluster = cluster

    async def run(self, key: str, work: Callable[[], Awaitable[V]]) -> V:
        cluster = self.cluster
        leader_work = work if cluster is None else (lambda: cluster.run(key, work))
        value, shared = await self.local.do(key, leader_work)
        metrics.SINGLEFLIGHT.labels("waiter" if shared else "leader").inc()
        return cast(V, value)  # the local flight is shared by every V; each key's callers agree on it
