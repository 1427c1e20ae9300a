"""One in-flight call per key inside this process: the first caller (the leader) runs the work,
every concurrent caller with the same key awaits the leader's result or error. Nothing is
remembered once the call completes; caching results is the tiers' job, not this one's.

The work runs in its own task, so a leader whose request is cancelled (client went away) does not
cancel the compile the waiters are counting on."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    def __init__(self) -> None:
        self._calls: dict[K, asyncio.Future[V]] = {}

    async def do(self, key: K, work: Callable[[], Awaitable[V]]) -> tuple[V, bool]:
        """Return (value, shared): shared is False for the leader, True for the waiters."""
        call = self._calls.get(key)
        if call is not None:
            return await asyncio.shield(call), True
        task = asyncio.ensure_future(work())
        self._calls[key] = task
        task.add_done_callback(lambda _t: self._forget(key, task))
        return await asyncio.shield(task), False

    def _forget(self, key: K, task: asyncio.Future[V]) -> None:
        if self._calls.get(key) is task:
            del self._calls[key]
        if not task.cancelled():
            task.exception()  # mark retrieved: an error every waiter saw must not log "never retrieved"

    def running(self, key: K) -> bool:
        return key in self._calls

    def in_flight(self) -> int:
        return len(self._calls)
