"""L2: Redis, shared by every process and machine, through aiocache.

Holds two things: sealed artifact bytes (immutable; capped per entry; a long TTL only so Redis
without an eviction policy cannot fill up) and sceneId -> resolution mappings (a TTL backstop, and a
version so a slow reader can never overwrite a newer edit's mapping).

Redis is an optimisation, never a dependency: every call is bounded by a short timeout, any failure
is a miss, and after a failure the tier stays out of the way for a moment (a breaker) so a dead
Redis costs the hot path nothing."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any
from urllib.parse import urlsplit

import orjson
from aiocache import RedisCache
from aiocache.serializers import NullSerializer

from core import metrics

log = logging.getLogger("artifact_proxy.cache")

ARTIFACT_TTL_SECONDS = 7 * 24 * 3600
BREAKER_SECONDS = 1.0
# A deleted mapping leaves a tombstone this long: a reader that read the row before the change and
# writes after it (its version is older than the tombstone's) is refused. Longer than any read may
# take (database and Redis calls are bounded well below it).
TOMBSTONE_MS = 15_000

# set the mapping unless the stored one is newer (versions are the scene's updated_at in microseconds)
_SET_IF_NEWER = """
local cur = redis.call('GET', KEYS[1])
if cur then
  local v = tonumber(string.match(cur, '^(%d+)|'))
  if v and v > tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2], 'PX', ARGV[3])
return 1
"""


def redis_cache(url: str, namespace: str, timeout: float) -> RedisCache:
    parts = urlsplit(url)
    db = (parts.path or "/0").strip("/") or "0"
    # keys are exactly prefix + name (aiocache would add its own ':'), so scripts and tools agree
    return RedisCache(serializer=NullSerializer(encoding=None), namespace=namespace, timeout=timeout,
                      key_builder=lambda key, namespace=None: f"{namespace or ''}{key}",
                      endpoint=parts.hostname or "127.0.0.1", port=parts.port or 6379, db=int(db),
                      password=parts.password, create_connection_timeout=timeout,
                      ssl=parts.scheme == "rediss")


class RedisTier:
    def __init__(self, cache: RedisCache, prefix: str, max_entry_bytes: int, mapping_ttl: float,
                 op_timeout: float) -> None:
        self.cache = cache
        self.client = cache.client  # the same pool, for scripts, leases and pub/sub
        self.prefix = prefix
        self.max_entry_bytes = max_entry_bytes
        self.mapping_ttl_ms = int(mapping_ttl * 1000)
        self.op_timeout = op_timeout  # scripts bypass aiocache's timeout, so they get their own
        self._down_until = 0.0
        self._set_if_newer = self.client.register_script(_SET_IF_NEWER)

    # --- availability ---------------------------------------------------------------------------

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, op: str, exc: BaseException) -> None:
        if self.available:
            log.warning("redis %s failed; skipping redis for %.1fs: %s", op, BREAKER_SECONDS, exc,
                        extra={"event": "redis_down"})
        self._down_until = time.monotonic() + BREAKER_SECONDS

    # --- artifacts (SharedTier) -----------------------------------------------------------------

    async def get_artifact(self, hash: str) -> bytes | None:
        if not self.available:
            return None
        try:
            value = await self.cache.get(f"a:{hash}")
        except Exception as e:  # any Redis trouble is a miss
            self._failed("get", e)
            return None
        return value if isinstance(value, bytes) else None

    async def set_artifact(self, hash: str, sealed: bytes) -> None:
        if not self.available or len(sealed) > self.max_entry_bytes:
            return
        try:
            await self.cache.set(f"a:{hash}", sealed, ttl=ARTIFACT_TTL_SECONDS)
        except Exception as e:
            self._failed("set", e)

    # --- mappings -------------------------------------------------------------------------------

    async def get_mapping(self, scene_id: str) -> dict[str, Any] | None:
        if not self.available:
            return None
        try:
            raw = await self.cache.get(f"m:{scene_id}")
        except Exception as e:
            self._failed("get", e)
            return None
        if not isinstance(raw, bytes):
            metrics.CACHE_LOOKUPS.labels("l2", "mapping", "miss").inc()
            return None
        _version, _, body = raw.partition(b"|")
        if not body:  # a tombstone
            metrics.CACHE_LOOKUPS.labels("l2", "mapping", "miss").inc()
            return None
        metrics.CACHE_LOOKUPS.labels("l2", "mapping", "hit").inc()
        return orjson.loads(body)

    async def set_mapping(self, scene_id: str, version: int, value: dict[str, Any]) -> None:
        if not self.available:
            return
        try:
            await asyncio.wait_for(self._set_if_newer(keys=[f"{self.prefix}m:{scene_id}"],
                                                      args=[version, orjson.dumps(value), self.mapping_ttl_ms]),
                                   self.op_timeout)
        except Exception as e:
            self._failed("set", e)

    async def delete_mapping(self, scene_id: str) -> None:
        """Drop the mapping and leave a tombstone versioned now, so no older read can restore it."""
        if not self.available:
            return
        now_us = time.time_ns() // 1000
        try:
            await asyncio.wait_for(self._set_if_newer(keys=[f"{self.prefix}m:{scene_id}"],
                                                      args=[now_us, b"", TOMBSTONE_MS]), self.op_timeout)
        except Exception as e:
            self._failed("delete", e)

    # --- remembered compile failures (cache/failures.py) -------------------------------------------

    async def get_failure(self, hash: str) -> bytes | None:
        if not self.available:
            return None
        try:
            value = await self.cache.get(f"f:{hash}")
        except Exception as e:
            self._failed("get", e)
            return None
        return value if isinstance(value, bytes) else None

    async def set_failure(self, hash: str, value: bytes, ttl_seconds: float) -> None:
        if not self.available:
            return
        try:
            await self.cache.set(f"f:{hash}", value, ttl=max(1, int(ttl_seconds)))
        except Exception as e:
            self._failed("set", e)

    async def ping(self) -> None:
        await self.client.ping()

    async def close(self) -> None:
        await self.cache.close()
        await self.client.aclose()
