"""Varnish: `BAN /` with the keys in `X-Purge-Keys`; ops/varnish/default.vcl turns it into a ban on
`obj.http.Surrogate-Key` (accepted only from the addresses in its `purgers` ACL)."""

from __future__ import annotations

from collections.abc import Sequence

import aiohttp

from proxy.edge_purge.base import PurgeFailed


class VarnishPurger:
    kind = "varnish"
    max_keys = 100  # one ban regex; Varnish has no hard limit, this keeps the expression short

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.name = f"varnish://{host}:{port}"
        self.url = f"http://{host}:{port}/"
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def purge(self, keys: Sequence[str]) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        try:
            async with self._session.request("BAN", self.url, headers={"X-Purge-Keys": " ".join(keys)}) as r:
                body = await r.text()
                if r.status != 200:
                    raise PurgeFailed(f"{self.name} answered {r.status}: {body[:200].strip()}")
        except (aiohttp.ClientError, TimeoutError) as e:
            raise PurgeFailed(f"{self.name}: {type(e).__name__}: {e}") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
