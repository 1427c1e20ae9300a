"""Compile-on-miss admission: one client asking for many never-compiled scenes cannot starve others.

Each client (by peer address, or behind PROXY_TRUSTED_PROXY_HOPS proxies the Nth X-Forwarded-For entry
from the right, never the client-written leftmost one) may have a bounded number of distinct scenes
compiling; past that it gets 429 + Retry-After. Waiting on a compile someone else started is free.
The compiler pool's queue bound protects the total."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

from core import metrics
from proxy.errors import Overloaded


class CompileLimiter:
    def __init__(self, per_client: int) -> None:
        self.per_client = per_client
        self._in_flight: defaultdict[str, int] = defaultdict(int)

    @contextmanager
    def admit(self, client: str) -> Iterator[None]:
        if self._in_flight[client] >= self.per_client:
            metrics.RATE_LIMITED.labels("per_client_compiles").inc()
            raise Overloaded(f"too many compiles in flight for this client (limit {self.per_client})")
        self._in_flight[client] += 1
        try:
            yield
        finally:
            self._in_flight[client] -= 1
            if not self._in_flight[client]:
                del self._in_flight[client]
