"""The purge queue: what the invalidation asks for reaches every edge, batched, retried, never in the way.

- `request(keys)` returns at once: a write never waits for (or fails because of) a CDN.
- Keys wait `delay` before they go out, so every node of the cluster has dropped its own copy of the
  old mapping first (an edge refetching sooner could store the old answer again), and so the several
  requests one write makes (the save, the NOTIFY every node hears, the recorded compile) leave as one.
- With Redis, a key is claimed cluster-wide (SET NX PX=delay): a node that finds it claimed skips it,
  because the claimant sends it `delay` after its claim, that is after this request. Three nodes
  hearing one NOTIFY purge once.
- A purge that fails is retried with exponential back-off, each purger on its own, until
  `max_stale` seconds after it was first asked for: by then every edge copy from before the write has
  expired (pointers carry that as their edge TTL), so a lost purge costs at most that long.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from core import metrics
from proxy.edge_purge.base import KEY, PurgeFailed, Purger

log = logging.getLogger("artifact_proxy.edge_purge")

FIRST_RETRY_SECONDS = 0.5
MAX_RETRY_SECONDS = 30.0


class Claims(Protocol):
    async def claim(self, keys: Sequence[str], window: float) -> list[str]:
        """The keys this caller now owns for `window` seconds (nobody else sends them meanwhile)."""
        ...


class RedisClaims:
    def __init__(self, client: Any, prefix: str, timeout: float) -> None:
        self.client, self.prefix, self.timeout = client, f"{prefix}purge:", timeout

    async def claim(self, keys: Sequence[str], window: float) -> list[str]:
        try:
            pipe = self.client.pipeline(transaction=False)
            for key in keys:
                pipe.set(self.prefix + key, b"1", nx=True, px=max(1, int(window * 1000)))
            owned = await asyncio.wait_for(pipe.execute(), self.timeout)
        except Exception as e:  # Redis down: purging twice beats not purging
            log.warning("could not claim edge purges in Redis; purging anyway: %s", e,
                        extra={"event": "edge_purge"})
            return list(keys)
        return [key for key, ok in zip(keys, owned, strict=True) if ok]


@dataclass
class _Pending:
    due: float
    first: float  # when it was first asked for: retries stop max_stale after it
    attempts: int = 0
    again: float | None = None  # asked for again after this batch was due: send once more, then


@dataclass
class _Lane:
    """One purger's queue: its failures and retries do not hold the others back."""

    purger: Purger
    pending: dict[str, _Pending] = field(default_factory=dict)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    idle: asyncio.Event = field(default_factory=asyncio.Event)  # set while nothing is pending
    task: asyncio.Task[None] | None = None


class EdgePurge:
    def __init__(self, purgers: Sequence[Purger], *, delay: float, max_stale: float, claims: Claims | None = None,
                 wait: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.purgers = list(purgers)
        self.wait = wait  # how long purge_now may hold a write
        self.delay, self.max_stale, self.claims, self.clock = delay, max_stale, claims, clock
        # keys due within `slack` of the first go in the same batch; claims last `delay - slack`, so
        # a batch still leaves after every claim it answers for has expired
        self.slack = min(0.05, delay / 5)
        self._lanes: list[_Lane] = []
        self._admitting: set[asyncio.Task[None]] = set()

    def request(self, keys: Iterable[str]) -> None:
        """Purge these surrogate keys from every edge, soon. Never blocks, never raises."""
        wanted = [k for k in dict.fromkeys(keys) if KEY.match(k)]
        if not wanted or not self.purgers:
            return
        metrics.EDGE_PURGE_KEYS.labels("requested").inc(len(wanted))
        task = asyncio.ensure_future(self._admit(wanted))
        self._admitting.add(task)
        task.add_done_callback(self._admitting.discard)

    async def _admit(self, keys: list[str]) -> None:
        asked = self.clock()
        # already waiting here for a first send: that send comes after this request, so it covers it
        if self._lanes:
            fresh = [k for k in keys if not all(self._waiting(lane, k) for lane in self._lanes)]
            if len(fresh) < len(keys):
                metrics.EDGE_PURGE_KEYS.labels("coalesced").inc(len(keys) - len(fresh))
            keys = fresh
        if not keys:
            return
        if self.claims is not None and self.delay > 0:
            owned = await self.claims.claim(keys, self.delay - self.slack)
            if len(owned) < len(keys):
                metrics.EDGE_PURGE_KEYS.labels("coalesced").inc(len(keys) - len(owned))
            keys = owned
        if not keys:
            return
        due = self.clock() + self.delay  # after the claim: the batch leaves once the claim expired
        if not self._lanes:
            self._lanes = [_Lane(p) for p in self.purgers]
        for lane in self._lanes:
            for key in keys:
                entry = lane.pending.get(key)
                if entry is None:
                    lane.pending[key] = _Pending(due, asked)
                elif due <= entry.due:
                    entry.due = due  # a retry waiting for its back-off: go with the new request
                else:  # due sooner than this request's claim expires: purge once more at its time
                    entry.again = max(entry.again or 0.0, due)
            lane.idle.clear()
            lane.wake.set()
            if lane.task is None or lane.task.done():
                lane.task = asyncio.create_task(self._run(lane), name=f"edge-purge {lane.purger.name}")

    @staticmethod
    def _waiting(lane: _Lane, key: str) -> bool:
        entry = lane.pending.get(key)
        return entry is not None and entry.attempts == 0

    async def _run(self, lane: _Lane) -> None:
        while True:
            lane.wake.clear()
            if not lane.pending:
                lane.idle.set()
                await lane.wake.wait()
                continue
            now = self.clock()
            wait = min(p.due for p in lane.pending.values()) - now
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lane.wake.wait(), wait)
                continue
            due = [k for k, p in lane.pending.items() if p.due <= now + self.slack]
            for start in range(0, len(due), lane.purger.max_keys):
                await self._send(lane, due[start:start + lane.purger.max_keys])

    async def _send(self, lane: _Lane, keys: list[str]) -> None:
        entries = {k: lane.pending.pop(k) for k in keys}
        try:
            await lane.purger.purge(keys)
        except Exception as e:
            metrics.EDGE_PURGES.labels(lane.purger.kind, "failed").inc()
            if not isinstance(e, PurgeFailed):
                log.exception("edge purger crashed", extra={"event": "edge_purge"})
            self._retry_later(lane, entries, e)
            return
        done = self.clock()
        metrics.EDGE_PURGES.labels(lane.purger.kind, "ok").inc()
        metrics.EDGE_PURGE_KEYS.labels("sent").inc(len(keys))
        for key, entry in entries.items():
            metrics.EDGE_PURGE_LAG.observe(done - entry.first)
            if entry.again is not None and key not in lane.pending:
                lane.pending[key] = _Pending(entry.again, entry.again - self.delay)

    def _retry_later(self, lane: _Lane, entries: dict[str, _Pending], error: BaseException) -> None:
        now = self.clock()
        kept = expired = 0
        backoff = MAX_RETRY_SECONDS
        for key, entry in entries.items():
            if now - entry.first >= self.max_stale:
                expired += 1  # every edge copy from before the write has expired by now
                continue
            backoff = min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** entry.attempts)
            again = lane.pending.get(key)  # asked for again meanwhile: keep the earliest due
            due = min(now + backoff, again.due if again else now + backoff, entry.again or now + backoff,
                      entry.first + self.max_stale)  # one last try when the bound is reached, then give up
            lane.pending[key] = _Pending(due, min(entry.first, again.first) if again else entry.first,
                                         entry.attempts + 1)
            kept += 1
        if expired:
            metrics.EDGE_PURGE_KEYS.labels("expired").inc(expired)
        log.warning("edge purge failed (%d keys retried in %.1fs, %d given up: their edge TTL has passed): %s",
                    kept, backoff, expired, error,
                    extra={"event": "edge_purge", "purger": lane.purger.name, "retried": kept, "expired": expired})

    async def purge_now(self, keys: Iterable[str], seconds: float) -> bool:
        """Purge at once and wait for the edges' confirmation, at most `seconds` (a write through our
        API, so its author's next view through the edge is already the new one). Never raises: what
        fails or is not confirmed in time is retried by the queue. True if every edge confirmed."""
        wanted = [k for k in dict.fromkeys(keys) if KEY.match(k)]
        if not wanted or not self.purgers:
            return True
        metrics.EDGE_PURGE_KEYS.labels("requested").inc(len(wanted))
        if not self._lanes:
            self._lanes = [_Lane(p) for p in self.purgers]
        asked = self.clock()

        async def one(lane: _Lane) -> bool:
            entries = {k: _Pending(asked, asked) for k in wanted}
            try:
                async with asyncio.timeout(seconds):
                    for start in range(0, len(wanted), lane.purger.max_keys):
                        await lane.purger.purge(wanted[start:start + lane.purger.max_keys])
            except Exception as e:
                metrics.EDGE_PURGES.labels(lane.purger.kind, "failed").inc()
                self._retry_later(lane, entries, e)
                lane.idle.clear()
                lane.wake.set()
                if lane.task is None or lane.task.done():
                    lane.task = asyncio.create_task(self._run(lane), name=f"edge-purge {lane.purger.name}")
                return False
            metrics.EDGE_PURGES.labels(lane.purger.kind, "ok").inc()
            metrics.EDGE_PURGE_KEYS.labels("sent").inc(len(wanted))
            metrics.EDGE_PURGE_LAG.observe(self.clock() - asked)
            return True

        return all(await asyncio.gather(*(one(lane) for lane in self._lanes)))

    def pending(self) -> int:
        return sum(len(lane.pending) for lane in self._lanes) + len(self._admitting)

    async def drain(self, seconds: float) -> bool:
        """Send what is queued now instead of after its delay; True if nothing is left."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                if self._admitting:
                    await asyncio.wait(list(self._admitting))
                for lane in self._lanes:
                    for entry in lane.pending.values():
                        entry.due = min(entry.due, self.clock())
                    lane.wake.set()
                for lane in self._lanes:
                    if lane.pending:
                        await lane.idle.wait()
        return not self.pending()

    async def close(self, seconds: float = 5.0) -> None:
        if not await self.drain(seconds):
            log.warning("closing with %d edge purges unsent; their edge TTL bounds them", self.pending(),
                        extra={"event": "edge_purge"})
        for lane in self._lanes:
            if lane.task is not None:
                lane.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await lane.task
        for purger in self.purgers:
            await purger.close()
