"""The multi-node shape, assembled: Redis L2, the pub/sub bus and the compile lease, over one pool.
Only built when PROXY_REDIS_URL is set; without it every part of the proxy works on one node."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cache.bus import RedisBus
from cache.lease import OutcomeCodec, RedisLease
from cache.mapping import MappingCache
from cache.redis_tier import RedisTier, redis_cache
from config import Settings

OP_TIMEOUT = 0.5  # a Redis call slower than this is treated as Redis being down


@dataclass
class Cluster:
    tier: RedisTier
    bus: RedisBus
    lease: RedisLease

    @classmethod
    def create(cls, settings: Settings, mappings: Sequence[MappingCache[Any]],
               outcomes: OutcomeCodec | None = None) -> Cluster:
        """`mappings`: every L1 mapping cache of this process (scenes, projects); an `invalidate`
        message names a scene or a project id, and a gap in the bus voids them all. `outcomes`: which
        failures of a compile's leader its waiters share (the domain's codec; default: none)."""
        assert settings.redis_url is not None
        prefix = settings.redis_key_prefix
        tier = RedisTier(redis_cache(settings.redis_url, prefix, OP_TIMEOUT), prefix,
                         settings.l2_max_entry_bytes, settings.mapping_ttl_seconds, OP_TIMEOUT)

        def on_invalidate(key: str) -> None:
            try:
                id = uuid.UUID(key)
            except ValueError:
                return  # not ours; ignore rather than crash the listener
            for cache in mappings:
                cache.invalidate(id)

        def on_gap() -> None:
            for cache in mappings:
                cache.clear()

        bus = RedisBus(tier.client, prefix, on_invalidate, on_gap, OP_TIMEOUT)
        lease = RedisLease(tier.client, bus, prefix, settings.lease_ttl_seconds, settings.lease_wait_seconds,
                           OP_TIMEOUT, outcomes)
        return cls(tier, bus, lease)

    # SharedMappings, for the service
    async def get_mapping(self, scene_id: str) -> dict[str, object] | None:
        return await self.tier.get_mapping(scene_id)

    async def set_mapping(self, scene_id: str, version: int, value: dict[str, object]) -> None:
        await self.tier.set_mapping(scene_id, version, value)

    async def delete_mapping(self, scene_id: str) -> None:
        await self.tier.delete_mapping(scene_id)

    async def publish_invalidate(self, scene_id: str) -> None:
        if self.tier.available:  # a down Redis costs nothing; the mapping TTL is the backstop
            await self.bus.publish_invalidate(scene_id)

    async def start(self) -> None:
        self.bus.start()

    async def close(self) -> None:
        await self.bus.close()
        await self.tier.close()
