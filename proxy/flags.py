"""Progressive rollout flags: a percentage per flag, a deterministic bucket per user.

A user's bucket is a hash of (flag, user), so it is stable, independent across flags, and a user in
at 10% stays in at 50% (the test is `bucket < percentage`). Percentages live in the metadata
database; each process re-reads a flag at most once a second, so a change reaches every node
within a second without any messaging."""

from __future__ import annotations

import hashlib
import re
import time

from proxy.db.base import SceneRepository

FLAG_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_BUCKETS = 10_000  # 0.01% resolution


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
    def __init__(self, repo: SceneRepository, refresh_seconds: float = 1.0) -> None:
        self.repo = repo
        self.refresh = refresh_seconds
        self._cache: dict[str, tuple[int, float]] = {}

    async def percentage(self, name: str) -> int:
        now = time.monotonic()
        hit = self._cache.get(name)
        if hit is not None and now - hit[1] < self.refresh:
            return hit[0]
        value = await self.repo.get_flag(name)
        pct = 0 if value is None else value
        self._cache[name] = (pct, now)
        return pct

    async def set(self, name: str, rollout_percentage: int) -> None:
        await self.repo.set_flag(name, rollout_percentage)
        self._cache[name] = (rollout_percentage, time.monotonic())
