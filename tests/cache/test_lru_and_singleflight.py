from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest

from cache.board import InvalidationBoard, create_board_file
from cache.lru import ByteLRU
from cache.mapping import MappingCache
from cache.singleflight import SingleFlight


def test_lru_stays_within_its_byte_budget_and_evicts_the_least_recent() -> None:
    lru: ByteLRU[str, bytes] = ByteLRU(100, len)
    for key in "abcd":
        lru.put(key, b"x" * 30)
    assert lru.bytes <= 100 and "a" not in lru and len(lru) == 3
    lru.get("b")  # b becomes the most recent, so c goes next
    lru.put("e", b"x" * 30)
    assert "b" in lru and "c" not in lru


def test_lru_ignores_an_entry_larger_than_the_budget() -> None:
    lru: ByteLRU[str, bytes] = ByteLRU(10, len)
    lru.put("small", b"12345")
    lru.put("huge", b"x" * 11)
    assert "small" in lru and "huge" not in lru and lru.bytes == 5


def test_lru_replacing_a_key_accounts_bytes_once() -> None:
    lru: ByteLRU[str, bytes] = ByteLRU(100, len)
    lru.put("a", b"x" * 40)
    lru.put("a", b"x" * 10)
    assert lru.bytes == 10
    lru.discard("a")
    assert lru.bytes == 0


def test_mapping_expires_but_can_be_served_stale() -> None:
    m: MappingCache[str] = MappingCache(ttl_seconds=10, stale_seconds=100)
    k = uuid.uuid4()
    m.put(k, "v", m.ticket(k))
    assert m.get(k) == "v" and m.lookup(k) == ("v", False)
    future = time.monotonic() + 50
    assert m.get(k, now=future) is None
    assert m.lookup(k, now=future) == ("v", True)  # stale-while-revalidate
    assert m.get(k, now=future, allow_stale=True) == "v"
    m.invalidate(k)
    assert m.get(k, allow_stale=True) is None
    assert m.last_known(k) == "v"  # for stale-if-error only: the database cannot say what is current
    assert m.last_known(k, now=time.monotonic() + 200) is None  # past the stale window


def test_a_value_read_before_an_edit_is_never_stored_after_it() -> None:
    m: MappingCache[str] = MappingCache(ttl_seconds=10)
    k = uuid.uuid4()
    ticket = m.ticket(k)  # a reader starts...
    m.invalidate(k)  # ...an edit lands...
    m.put(k, "old", ticket)  # ...and the reader's old value must not stick
    assert m.get(k) is None
    ticket = m.ticket(k)
    m.clear()  # a Redis gap clears everything: tickets from before it are void too
    m.put(k, "old", ticket)
    assert m.get(k) is None


def test_workers_sharing_a_board_see_each_others_edits_at_once(tmp_path: Path) -> None:
    path = create_board_file(str(tmp_path))
    worker_a: MappingCache[str] = MappingCache(60, board=InvalidationBoard(path))
    worker_b: MappingCache[str] = MappingCache(60, board=InvalidationBoard(path))
    k = uuid.uuid4()
    worker_b.put(k, "old hash", worker_b.ticket(k))
    assert worker_b.get(k) == "old hash"
    worker_a.invalidate(k)  # the edit goes through worker A
    assert worker_b.get(k) is None
    other = uuid.UUID(int=k.int ^ 1)  # a scene in another slot is untouched
    worker_b.put(other, "kept", worker_b.ticket(other))
    worker_a.invalidate(k)
    assert worker_b.get(other) == "kept"


async def test_concurrent_calls_for_one_key_run_the_work_once() -> None:
    flight: SingleFlight[str, int] = SingleFlight()
    runs = 0

    async def work() -> int:
        nonlocal runs
        runs += 1
        await asyncio.sleep(0.05)
        return 42

    results = await asyncio.gather(*(flight.do("k", work) for _ in range(50)))
    assert runs == 1
    assert [v for v, _ in results] == [42] * 50
    assert sum(1 for _, shared in results if not shared) == 1
    assert flight.in_flight() == 0


async def test_every_waiter_gets_the_leaders_error_and_the_next_call_retries() -> None:
    flight: SingleFlight[str, int] = SingleFlight()
    calls = 0

    async def boom() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        raise ValueError("bad")

    results = await asyncio.gather(*(flight.do("k", boom) for _ in range(5)), return_exceptions=True)
    assert calls == 1 and all(isinstance(r, ValueError) for r in results)
    with pytest.raises(ValueError):
        await flight.do("k", boom)
    assert calls == 2


async def test_a_cancelled_leader_does_not_cancel_the_work_its_waiters_need() -> None:
    flight: SingleFlight[str, int] = SingleFlight()

    async def work() -> int:
        await asyncio.sleep(0.05)
        return 7

    leader = asyncio.ensure_future(flight.do("k", work))
    await asyncio.sleep(0)
    waiter = asyncio.ensure_future(flight.do("k", work))
    await asyncio.sleep(0.01)
    leader.cancel()
    assert (await waiter) == (7, True)


def test_a_ticket_stays_current_until_its_key_is_invalidated_or_the_board_cleared() -> None:
    m: MappingCache[str] = MappingCache(60)
    k, other = uuid.uuid4(), uuid.uuid4()
    ticket = m.ticket(k)
    m.invalidate(other)
    assert m.current(k, ticket) or (other.int & 0xFFFF) == (k.int & 0xFFFF)  # a shared slot may expire it too
    m.invalidate(k)
    assert not m.current(k, ticket)
    ticket = m.ticket(k)
    MappingCache(60, board=m.board).clear()  # another cache on the same board: a machine-wide clear
    assert not m.current(k, ticket)
