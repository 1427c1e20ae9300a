"""Invalidation stamps shared by every worker of one machine.

`serve --workers N` runs N processes, each with its own L1 mappings. An edit through one worker
must be seen by all of them at once, with or without Redis. The board is a small file mapped into
every worker's memory: one 8-byte stamp per slot, a scene's slot chosen by its id. An edit writes a
fresh random stamp into the slot (random, so concurrent writers need no lock: any change differs); a
cached mapping remembers the stamp read *before* its database read and is a hit only while the
stamp is unchanged. Reading it is one memory access, so the hot path stays free of I/O and messages.
Slots are shared by hash: an edit may also expire an unrelated scene's mapping, a rare harmless miss.

One more slot past the scenes' holds the board's generation: touching it (a gap in what this
machine heard, for example a lost database listener) expires every worker's every mapping at once.

With one process there is nothing to share, and the same board lives in plain memory."""

from __future__ import annotations

import mmap
import os
import secrets
import uuid

SLOTS = 1 << 16
GENERATION = SLOTS << 3  # the offset of the generation stamp, after the last scene slot
SIZE = (SLOTS + 1) * 8


class InvalidationBoard:
    def __init__(self, path: str | None = None) -> None:
        self.path = path
        if path is None:
            self._mem: mmap.mmap | bytearray = bytearray(SIZE)
            return
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < SIZE:
                os.ftruncate(fd, SIZE)
            self._mem = mmap.mmap(fd, SIZE)
        finally:
            os.close(fd)  # the mapping keeps the memory; the descriptor is not needed

    @staticmethod
    def _offset(key: uuid.UUID) -> int:
        return (key.int & (SLOTS - 1)) << 3

    def stamp(self, key: uuid.UUID) -> bytes:
        offset = self._offset(key)
        return bytes(self._mem[offset:offset + 8])

    def touch(self, key: uuid.UUID) -> None:
        offset = self._offset(key)
        self._mem[offset:offset + 8] = secrets.token_bytes(8)

    def generation(self) -> bytes:
        return bytes(self._mem[GENERATION:GENERATION + 8])

    def touch_all(self) -> None:
        self._mem[GENERATION:GENERATION + 8] = secrets.token_bytes(8)


def create_board_file(directory: str) -> str:
    """Made by the supervising process before it starts the workers, who open it by path."""
    path = os.path.join(directory, "invalidation-board")
    InvalidationBoard(path)
    return path
