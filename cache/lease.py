"""Cluster-wide single-flight: one compile per key across every process and machine.

The leader holds a Redis lease (SET NX PX with a random token), renews it while it works, and
releases it only if it still owns it (a Lua compare-and-delete). When done it publishes the outcome
on `done:<key>`; waiters are woken by that message, not by polling. The outcome is opaque here: the
layer above says, through an `OutcomeCodec`, which failures its waiters should share and how they
read on the wire; a success tells a waiter only to run its work (which finds the result stored).

A waiter re-tries the lease whenever it might have expired (a crashed leader blocks nobody longer
than the lease), and after a bounded total wait it does the work itself: compiling twice is better
than hanging. If Redis is unreachable the work runs locally (the in-process single-flight still
collapses this process's callers).

aiocache's RedLock is not used: it does not exclude a second process (measured by the team)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import orjson
import redis.asyncio as aioredis

from cache.bus import RedisBus
from core import metrics

log = logging.getLogger("artifact_proxy.cache")
V = TypeVar("V")

_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
_RENEW = ("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end "
          "return 0")


class OutcomeCodec(Protocol):
    """How a leader's failure reaches its waiters. The lease carries the text and never reads it."""

    def encode(self, error: BaseException) -> str | None:
        """The leader failed with `error`: the text its waiters should get, or None to share nothing
        (each waiter then runs its work itself)."""
        ...

    def decode(self, detail: str) -> BaseException | None:
        """A waiter got `detail`: the error to raise instead of working, or None to run its work."""
        ...


class ShareNothing:
    """Waiters never adopt a leader's failure: after any outcome they run their own work."""

    def encode(self, error: BaseException) -> str | None:
        return None

    def decode(self, detail: str) -> BaseException | None:
        return None


class RedisLease:
    def __init__(self, client: aioredis.Redis, bus: RedisBus, prefix: str, ttl_seconds: float,
                 max_wait_seconds: float, op_timeout: float = 0.5,
                 outcomes: OutcomeCodec | None = None) -> None:
        self.client = client
        self.bus = bus
        self.outcomes: OutcomeCodec = outcomes or ShareNothing()
        self.prefix = prefix
        self.ttl_ms = int(ttl_seconds * 1000)
        self.max_wait = max_wait_seconds
        self.op_timeout = op_timeout
        self._release = client.register_script(_RELEASE)
        self._renew = client.register_script(_RENEW)

    async def run(self, key: str, work: Callable[[], Awaitable[V]]) -> V:
        lease_key = f"{self.prefix}lease:{key}"
        token = secrets.token_hex(16)
        deadline = time.monotonic() + self.max_wait
        while True:
            woken = self.bus.expect(key)
            try:
                try:
                    acquired = await asyncio.wait_for(
                        self.client.set(lease_key, token, nx=True, px=self.ttl_ms), self.op_timeout)
                except Exception as e:  # Redis down: no cluster exclusion, but never a failure
                    log.warning("lease unavailable; working locally: %s", e, extra={"event": "redis_down"})
                    return await work()
                if acquired:
                    metrics.SINGLEFLIGHT.labels("cluster_leader").inc()
                    return await self._lead(key, lease_key, token, work)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    metrics.SINGLEFLIGHT.labels("cluster_timeout").inc()
                    log.warning("lease wait exceeded; compiling here too", extra={"event": "lease_timeout",
                                                                                   "key": key})
                    return await work()
                # wake on the leader's message, or re-try when the lease may have expired
                with contextlib.suppress(asyncio.TimeoutError):
                    payload = await asyncio.wait_for(asyncio.shield(woken), min(remaining, self.ttl_ms / 1000))
                    metrics.SINGLEFLIGHT.labels("cluster_waiter").inc()
                    return await self._follow(payload, work)
            finally:
                self.bus.forget(key, woken)

    async def _lead(self, key: str, lease_key: str, token: str, work: Callable[[], Awaitable[V]]) -> V:
        renewer = asyncio.create_task(self._keep(lease_key, token))
        outcome: dict[str, object] = {"ok": True}
        try:
            return await work()
        except Exception as e:
            outcome = {"ok": False}
            with contextlib.suppress(Exception):  # a codec that fails shares nothing; the error still raises
                detail = self.outcomes.encode(e)
                if detail is not None:
                    outcome["detail"] = detail
            raise
        except BaseException:  # cancelled: nothing to share
            outcome = {"ok": False}
            raise
        finally:
            renewer.cancel()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._release(keys=[lease_key], args=[token]), self.op_timeout)
            with contextlib.suppress(Exception):  # a lost message costs waiters one lease period, no more
                await self.bus.publish_done(key, orjson.dumps(outcome))

    async def _keep(self, lease_key: str, token: str) -> None:
        while True:
            await asyncio.sleep(self.ttl_ms / 3000)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._renew(keys=[lease_key], args=[token, self.ttl_ms]), self.op_timeout)

    async def _follow(self, payload: bytes, work: Callable[[], Awaitable[V]]) -> V:
        """The leader finished. Its success is stored now, so `work` finds it without redoing it; a
        failure the codec shares is raised here as it was there; anything else runs `work`."""
        shared = self._shared_failure(payload)
        if shared is not None:
            raise shared
        return await work()

    def _shared_failure(self, payload: bytes) -> BaseException | None:
        # a payload nobody can read (another version's, garbage) is no outcome: work, never fail
        try:
            outcome = orjson.loads(payload)
            detail = outcome.get("detail") if isinstance(outcome, dict) and outcome.get("ok") is False else None
            return self.outcomes.decode(detail) if isinstance(detail, str) else None
        except Exception as e:
            log.warning("unreadable lease outcome; working instead: %s", e, extra={"event": "lease_outcome"})
            return None
