"""Compile failures of ours (timeout, crash, output too large), remembered per source hash.

A source that made the compiler time out or crash will most likely do it again, and each attempt
costs a worker for the whole timeout and a process restart. So the outcome is kept, in process and
in Redis when configured (every node learns it from the first), with a back-off that doubles per
failure up to a bound: until it passes, callers get the failure at once; when it passes, one caller
per process retries (in the background, so nobody waits on it). After `record_after` failures the
service records the error on the scene, so nodes stop retrying until an edit changes the source.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from core.compiler import CompileError, ErrorKind

log = logging.getLogger("artifact_proxy.compile")

REMEMBERED_KINDS: frozenset[str] = frozenset({"timeout", "crash", "too-large"})


class SharedFailures(Protocol):
    """Where every node reads and writes remembered failures (Redis); failures there are misses."""

    async def get_failure(self, hash: str) -> bytes | None: ...

    async def set_failure(self, hash: str, value: bytes, ttl_seconds: float) -> None: ...


class KnownFailure(CompileError):
    """A remembered failure, raised instead of compiling. `count`: how often this source failed."""

    def __init__(self, message: str, *, kind: ErrorKind, count: int, retry_in: float) -> None:
        super().__init__(message, kind=kind)
        self.count = count
        self.retry_in = retry_in


@dataclass(slots=True)
class _Entry:
    kind: ErrorKind
    message: str
    count: int
    until: float  # wall clock (shared between nodes): no compile of this source before then

    def to_bytes(self) -> bytes:
        return orjson.dumps({"kind": self.kind, "message": self.message, "count": self.count, "until": self.until})

    @classmethod
    def from_bytes(cls, raw: bytes) -> _Entry | None:
        try:
            data: dict[str, Any] = orjson.loads(raw)
            kind = data["kind"]
            if kind not in REMEMBERED_KINDS:
                return None
            return cls(kind, str(data["message"])[:2000], int(data["count"]), float(data["until"]))
        except (ValueError, KeyError, TypeError):
            return None


def is_remembered(error: CompileError) -> bool:
    """A failure worth remembering: the source made the compiler fail, not an overload or a setup fault."""
    if isinstance(error, KnownFailure):
        return False
    if error.kind == "crash":
        return error.message in CRASH_MESSAGES
    return error.kind in REMEMBERED_KINDS


# what the pool says when a worker died mid-compile, or failed inside (proxy/compiler/pool.py)
CRASH_MESSAGES = frozenset({"compiler process crashed", "internal compiler error"})


class FailureMemory:
    def __init__(self, base_seconds: float, max_seconds: float, shared: SharedFailures | None = None,
                 max_entries: int = 10_000) -> None:
        self.base = base_seconds
        self.max = max(max_seconds, base_seconds)
        self.shared = shared
        self.max_entries = max_entries
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def _backoff(self, count: int) -> float:
        return float(min(self.base * 2 ** min(count - 1, 30), self.max))

    async def _lookup(self, hash: str) -> _Entry | None:
        entry = self._entries.get(hash)
        if entry is None and self.shared is not None:
            raw = await self.shared.get_failure(hash)
            entry = _Entry.from_bytes(raw) if raw is not None else None
            if entry is not None:
                self._keep(hash, entry)
        return entry

    def _keep(self, hash: str, entry: _Entry) -> None:
        self._entries[hash] = entry
        self._entries.move_to_end(hash)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def check(self, hash: str, retry_claim_seconds: float) -> tuple[KnownFailure, bool] | None:
        """(the failure, whether this caller should retry now) for a remembered source, else None.

        A caller told to retry has claimed the retry for `retry_claim_seconds` (in this process):
        everyone else keeps getting the failure at once meanwhile."""
        entry = await self._lookup(hash)
        if entry is None:
            return None
        now = time.time()
        due = now >= entry.until
        if due:
            entry.until = now + retry_claim_seconds
        failure = KnownFailure(entry.message, kind=entry.kind, count=entry.count,
                               retry_in=max(0.0, entry.until - now))
        return failure, due

    async def record(self, hash: str, error: CompileError) -> int:
        """Remember one more failure of this source; returns how many there have been."""
        previous = await self._lookup(hash)
        count = (previous.count if previous else 0) + 1
        backoff = self._backoff(count)
        entry = _Entry(error.kind, error.message, count, time.time() + backoff)
        self._keep(hash, entry)
        log.warning("compile failure remembered", extra={"event": "compile_failure", "hash": hash,
                                                         "kind": error.kind, "count": count,
                                                         "retryIn": round(backoff, 1)})
        if self.shared is not None:
            # kept past the back-off, so the count survives to the next failure
            await self.shared.set_failure(hash, entry.to_bytes(), self.max * 4)
        return count

    def forget(self, hash: str) -> None:
        self._entries.pop(hash, None)


_RECORDED_MARK = " [source "


def recorded_text(failure: KnownFailure, source_hash: str) -> str:
    """What the scene records after repeated failures; names the source so an edit is recognised."""
    return f"{failure.message} ({failure.count} attempts){_RECORDED_MARK}{source_hash}]"


def recorded_for_other_source(error: str, source_hash: str) -> bool:
    """True for a failure of ours recorded for another version of the code (the scene was edited since)."""
    at = error.rfind(_RECORDED_MARK)
    return at >= 0 and error.endswith("]") and error[at + len(_RECORDED_MARK):-1] != source_hash
