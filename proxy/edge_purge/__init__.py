"""Edge (CDN) purges: the queue the invalidation feeds, and the purgers PROXY_EDGE_PURGE names."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from config import Settings
from proxy.edge_purge.base import PurgeFailed, Purger, project_key, scene_key
from proxy.edge_purge.queue import EdgePurge, RedisClaims

__all__ = ["EdgePurge", "PurgeFailed", "Purger", "create_edge_purge", "create_purgers", "project_key",
           "scene_key"]

CLAIM_TIMEOUT = 0.5


def create_purgers(settings: Settings) -> list[Purger]:
    purgers: list[Purger] = []
    for url in (settings.edge_purge or "").split(","):
        parts = urlsplit(url.strip())
        if parts.scheme == "varnish":
            from proxy.edge_purge.varnish import VarnishPurger

            purgers.append(VarnishPurger(parts.hostname or "127.0.0.1", parts.port or 80,
                                         settings.edge_purge_timeout_seconds))
        elif parts.scheme == "cloudflare":
            from proxy.edge_purge.cloudflare import CloudflarePurger

            if settings.cloudflare_api_token is None:
                raise ValueError("cloudflare:// purges need CLOUDFLARE_API_TOKEN (a token with Cache Purge)")
            purgers.append(CloudflarePurger(parts.netloc, settings.cloudflare_api_token.get_secret_value(),
                                            settings.cloudflare_api_url, settings.edge_purge_timeout_seconds))
    return purgers


def create_edge_purge(settings: Settings, redis_client: Any | None) -> EdgePurge | None:
    """None when PROXY_EDGE_PURGE is unset; with Redis, nodes coalesce their purges of one key."""
    purgers = create_purgers(settings)
    if not purgers:
        return None
    claims = RedisClaims(redis_client, settings.redis_key_prefix, CLAIM_TIMEOUT) if redis_client else None
    return EdgePurge(purgers, delay=settings.edge_purge_delay_seconds,
                     max_stale=settings.edge_max_stale_seconds, claims=claims, wait=settings.edge_purge_wait_seconds)
