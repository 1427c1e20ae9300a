"""One Redis pub/sub connection per process, for the two cluster-wide signals:

- `invalidate`: a scene was edited; every process drops its L1 mapping for it (the TTL is the
  backstop when a message is lost);
- `done:<hash>`: the cluster leader of a compile finished; its waiters wake without polling.

The listener reconnects on its own. Messages sent while it was disconnected are lost, so on every
(re)connect it reports a gap and the owner drops all L1 mappings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import redis.asyncio as aioredis

log = logging.getLogger("artifact_proxy.cache")


class RedisBus:
    def __init__(self, client: aioredis.Redis, prefix: str, on_invalidate: Callable[[str], None],
                 on_gap: Callable[[], None], op_timeout: float) -> None:
        self.client = client
        self.invalidate_channel = f"{prefix}invalidate"
        self.done_prefix = f"{prefix}done:"
        self.on_invalidate = on_invalidate
        self.on_gap = on_gap
        self.op_timeout = op_timeout
        self._waiters: dict[str, list[asyncio.Future[bytes]]] = {}
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="redis-bus")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    # --- publishing -----------------------------------------------------------------------------

    async def publish_invalidate(self, scene_id: str) -> None:
        await asyncio.wait_for(self.client.publish(self.invalidate_channel, scene_id), self.op_timeout)

    async def publish_done(self, key: str, payload: bytes) -> None:
        await asyncio.wait_for(self.client.publish(self.done_prefix + key, payload), self.op_timeout)

    # --- waiting --------------------------------------------------------------------------------

    def expect(self, key: str) -> asyncio.Future[bytes]:
        """Register interest in `done:<key>` BEFORE checking the lease, so no wake-up is missed."""
        fut: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(key, []).append(fut)
        return fut

    def forget(self, key: str, fut: asyncio.Future[bytes]) -> None:
        waiters = self._waiters.get(key)
        if waiters and fut in waiters:
            waiters.remove(fut)
            if not waiters:
                del self._waiters[key]

    # --- the listener ---------------------------------------------------------------------------

    async def _listen(self) -> None:
        backoff = 0.1
        while True:
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.invalidate_channel)
                await pubsub.psubscribe(self.done_prefix + "*")
                self.connected.set()
                self.on_gap()  # whatever was published while we were away is lost
                backoff = 0.1
                async for message in pubsub.listen():
                    self._dispatch(message)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # Redis went away: keep serving, retry with backoff
                if self.connected.is_set():
                    log.warning("redis pub/sub lost; reconnecting: %s", e, extra={"event": "redis_down"})
                self.connected.clear()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    def _dispatch(self, message: dict[str, object]) -> None:
        channel = message.get("channel")
        data = message.get("data")
        if not isinstance(channel, bytes) or not isinstance(data, bytes):
            return
        name = channel.decode()
        if name == self.invalidate_channel:
            self.on_invalidate(data.decode())
        elif name.startswith(self.done_prefix):
            for fut in self._waiters.pop(name[len(self.done_prefix):], []):
                if not fut.done():
                    fut.set_result(data)
