"""Cloudflare: purge by Cache-Tag through the zone's purge_cache API, with an API token that has the
"Cache Purge" permission (CLOUDFLARE_API_TOKEN, the name Cloudflare's own tools read)."""

from __future__ import annotations

from collections.abc import Sequence

import aiohttp

from proxy.edge_purge.base import PurgeFailed


class CloudflarePurger:
    kind = "cloudflare"
    max_keys = 100  # tags per purge_cache call on every plan (a free plan allows 5 calls a minute)

    def __init__(self, zone: str, token: str, api_url: str, timeout: float) -> None:
        self.name = f"cloudflare://{zone}"
        self.url = f"{api_url.rstrip('/')}/zones/{zone}/purge_cache"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def purge(self, keys: Sequence[str]) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout, headers=self.headers)
        try:
            async with self._session.post(self.url, json={"tags": list(keys)}) as r:
                body = await r.json(content_type=None) if r.content_length != 0 else None
                ok = r.status == 200 and isinstance(body, dict) and body.get("success") is True
                if not ok:
                    errors = body.get("errors") if isinstance(body, dict) else body
                    raise PurgeFailed(f"{self.name} answered {r.status}: {str(errors)[:200]}")
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:
            raise PurgeFailed(f"{self.name}: {type(e).__name__}: {e}") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
