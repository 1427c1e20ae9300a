"""A bytes-bounded in-process LRU. Plain dict order is the recency list (Python dicts keep insertion
order and pop/re-insert is O(1)), so a hit costs one pop and one store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class ByteLRU(Generic[K, V]):
    def __init__(self, max_bytes: int, size_of: Callable[[V], int]) -> None:
        self.max_bytes = max_bytes
        self._size_of = size_of
        self._items: dict[K, V] = {}
        self.bytes = 0

    def get(self, key: K) -> V | None:
        items = self._items
        value = items.pop(key, None)
        if value is not None:
            items[key] = value  # most recent at the end
        return value

    def put(self, key: K, value: V) -> None:
        size = self._size_of(value)
        if size > self.max_bytes:
            return  # never evict everything for one oversized entry
        old = self._items.pop(key, None)
        if old is not None:
            self.bytes -= self._size_of(old)
        self._items[key] = value
        self.bytes += size
        while self.bytes > self.max_bytes:
            oldest = next(iter(self._items))
            self.bytes -= self._size_of(self._items.pop(oldest))

    def discard(self, key: K) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self.bytes -= self._size_of(old)

    def clear(self) -> None:
        self._items.clear()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items
