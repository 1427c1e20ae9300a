"""Progressive rollout flags: a percentage per flag, a deterministic bucket per user.

A user's bucket is a hash of (flag, user), so it is stable, independent across flags, and a user in
at 10% stays in at 50% (the test is `bucket < percentage`). Percentages live in the metadata
database; each process re-reads a flag at most every REFRESH_SECONDS (half a second, so a change
reaches every process of every node within a second, database latency included) without any
messaging. Concurrent reads of one expired flag share one query, and when the database cannot be
reached the last value read is served rather than failing the request."""

from __future__ import annotations

import hashlib
import re
import time

from cache.singleflight import SingleFlight
from core.scenes import DatabaseUnavailable, SceneRepository

FLAG_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_BUCKETS = 10_000  # 0.01% resolution
REFRESH_SECONDS = 0.5
MAX_CACHED = 1024


def user_bucket(flag: str, user_id: str) -> float:
    """The user's position in [0, 100) for this flag."""
    digest = hashlib.sha256(f"{flag}\0{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % _BUCKETS * 100 / _BUCKETS


def is_enabled(flag: str, user_id: str | None, rollout_percentage: int) -> bool:
    if rollout_percentage >= 100:
        return True
    if rollout_percentage <= 0 or not user_id:
        return False
    return user_bucket(flag, user_id) < rollout_percentage


class Flags:
    def __init__(self, repo: SceneRepository, refresh_seconds: float = REFRESH_SECONDS) -> None:
        self.repo = repo
        self.refresh = refresh_seconds
        self._cache: dict[str, tuple[int, float]] = {}
        self._reads: SingleFlight[str, int] = SingleFlight()

    async def percentage(self, name: str) -> int:
        hit = self._cache.get(name)
        if hit is not None and time.monotonic() - hit[1] < self.refresh:
            return hit[0]
        try:
            return (await self._reads.do(name, lambda: self._read(name)))[0]
        except DatabaseUnavailable:
            if hit is not None:
                return hit[0]  # stale-if-error: the last known percentage beats a failed request
            raise

    async def _read(self, name: str) -> int:
        started = time.monotonic()
        value = await self.repo.get_flag(name)
        pct = 0 if value is None else value
        known = self._cache.get(name)
        if known is not None and known[1] > started:
            return known[0]  # set() ran while this read was in flight: its value is newer
        if len(self._cache) >= MAX_CACHED and name not in self._cache:
            self._cache.clear()  # any name can be asked for: keep the table bounded
        self._cache[name] = (pct, started)  # aged from before the query: never fresher than the data
        return pct

    async def set(self, name: str, rollout_percentage: int) -> None:
        await self.repo.set_flag(name, rollout_percentage)
        self._cache[name] = (rollout_percentage, time.monotonic())
