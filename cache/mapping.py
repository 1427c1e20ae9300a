"""sceneId -> resolved artifact, the second thing the cache holds (the first is artifact bytes).

A mapping changes when its scene is edited, so unlike an artifact it can go stale. Three guards:
- explicit invalidation: an edit touches the scene's stamp on the invalidation board, which every
  worker of the machine shares (cache/board.py), and Redis pub/sub carries it to other machines;
- a reader takes a `Ticket` before it reads the database and stores with it, so a value read before
  an edit can never be stored after it;
- a TTL, the backstop for a lost Redis message. An expired entry is still handed out once while the
  caller refreshes it (stale-while-revalidate), and kept a while longer for stale-if-error."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Generic, NamedTuple, TypeVar

from cache.board import InvalidationBoard

V = TypeVar("V")


class Ticket(NamedTuple):
    stamp: bytes  # the key's slot on the board
    generation: bytes  # the board's generation: a machine-wide clear


@dataclass(slots=True)
class _Entry(Generic[V]):
    value: V
    ticket: Ticket
    fresh_until: float
    stale_until: float


class MappingCache(Generic[V]):
    def __init__(self, ttl_seconds: float, stale_seconds: float = 3600.0, max_entries: int = 200_000,
                 board: InvalidationBoard | None = None) -> None:
        self.ttl = ttl_seconds
        self.stale = stale_seconds
        self.max_entries = max_entries
        self.board = board if board is not None else InvalidationBoard()
        self._entries: dict[uuid.UUID, _Entry[V]] = {}

    def ticket(self, key: uuid.UUID) -> Ticket:
        return Ticket(self.board.stamp(key), self.board.generation())

    def current(self, key: uuid.UUID, ticket: Ticket) -> bool:
        """No invalidation of `key` (nor a clear) since `ticket` was taken."""
        return ticket == self.ticket(key)

    def lookup(self, key: uuid.UUID, now: float | None = None) -> tuple[V | None, bool]:
        """(value, expired): a current value, with expired=True once its TTL passed (refresh it)."""
        entry = self._entries.get(key)
        if entry is None or entry.ticket != (self.board.stamp(key), self.board.generation()):
            return None, False
        now = time.monotonic() if now is None else now
        if now < entry.fresh_until:
            return entry.value, False
        if now < entry.stale_until:
            return entry.value, True
        return None, False

    def get(self, key: uuid.UUID, *, allow_stale: bool = False, now: float | None = None) -> V | None:
        value, expired = self.lookup(key, now)
        return value if allow_stale or not expired else None

    def last_known(self, key: uuid.UUID, now: float | None = None) -> V | None:
        """For stale-if-error only: the last value cached for `key` within its stale window, even if
        it expired or was invalidated since. When the database cannot say what is current, the last
        artifact a scene had is still a working module (an edit made just before an outage, or
        its own write echoed back by the database, must not turn a redirect into a 503)."""
        entry = self._entries.get(key)
        if entry is None or (time.monotonic() if now is None else now) >= entry.stale_until:
            return None
        return entry.value

    def put(self, key: uuid.UUID, value: V, ticket: Ticket, ttl: float | None = None) -> None:
        # An edit (or a clear) after the read makes the value possibly outdated: it is kept under its
        # old ticket, so lookups miss it, and only last_known() (stale-if-error) may still use it.
        if key not in self._entries and len(self._entries) >= self.max_entries:
            self._entries.pop(next(iter(self._entries)))  # oldest insertion first: cheap, good enough
        now = time.monotonic()
        ttl = self.ttl if ttl is None else ttl
        self._entries[key] = _Entry(value, ticket, now + ttl, now + ttl + self.stale)

    def invalidate(self, key: uuid.UUID) -> None:
        # the entry stays for last_known(); its ticket no longer matches, so lookups miss
        self.board.touch(key)  # every worker on this machine sees it at once

    def clear(self) -> None:
        """Forget everything, in every worker sharing the board: tickets from before are void too."""
        self._entries.clear()
        self.board.touch_all()

    def __len__(self) -> int:
        return len(self._entries)
