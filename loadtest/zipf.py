"""A bounded Zipf sampler: rank k (1..n) is drawn with probability proportional to 1/k**s.

Scene popularity on a video product is heavy-tailed: a few scenes take most views. The sampler
precomputes the cumulative distribution once (O(n)) and draws by binary search (O(log n)), so a
load generator can call it per request."""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class Zipf(Generic[T]):
    def __init__(self, items: Sequence[T], s: float = 1.0, seed: int | None = None) -> None:
        if not items:
            raise ValueError("Zipf needs at least one item")
        if s < 0:
            raise ValueError("the exponent s must be >= 0 (0 is uniform)")
        self.items = list(items)
        self.s = s
        self._rng = random.Random(seed)
        total = 0.0
        self._cdf: list[float] = []
        for k in range(1, len(self.items) + 1):
            total += 1.0 / k**s
            self._cdf.append(total)
        self._total = total

    def probability(self, rank: int) -> float:
        """P(rank), rank counted from 1 (the most popular item)."""
        if not 1 <= rank <= len(self.items):
            raise IndexError(rank)
        return (1.0 / rank**self.s) / self._total

    def head_share(self, top: int) -> float:
        """The share of all draws that land on the `top` most popular items."""
        top = max(0, min(top, len(self.items)))
        return self._cdf[top - 1] / self._total if top else 0.0

    def rank(self) -> int:
        """A random rank in 1..n."""
        i = bisect.bisect_left(self._cdf, self._rng.random() * self._total)
        return min(i, len(self.items) - 1) + 1

    def sample(self) -> T:
        return self.items[self.rank() - 1]
