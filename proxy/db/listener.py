"""LISTEN for the product's own writes to the scene table (the trigger migrate() installs).

The product's add and edit tools write "tsxCode" in their own transactions, never through our API;
the trigger NOTIFYs `{id, projectId, oldProjectId, writer}` at commit, and this listener hands each
change to the domain (`on_change`), which drops the cached mappings and starts a compile. `writer`
is set when the write came through a proxy's own API (the echo of our write): the writing node
compiles and purges the edge itself, so the listeners do neither.

LISTEN needs a session of its own, so it runs on the direct URL (a transaction pooler would hand
the session to someone else). Notifications sent while the connection is down are lost: after every
reconnect the listener reports the gap with the database time it last knew to be covered, and the
domain re-reads what changed since (`SceneRepository.changed_since`); after a lost connection (not
at start-up, when what was cached was read moments ago) it also drops every cached mapping, since
a hard DELETE leaves no row to re-read. A connection that dies
silently (a dropped network path sends no FIN) is found by a keep-alive query.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import orjson

from core.scenes import SceneChange
from proxy.db import schema
from proxy.db.postgres import Endpoint

log = logging.getLogger("artifact_proxy.db")

KEEPALIVE_SECONDS = 5.0
MAX_BACKOFF_SECONDS = 10.0
# a notification is sent at commit; a transaction that committed just before the connection
# dropped may carry an updatedAt a little older than our last keep-alive: look back this far
GAP_MARGIN = timedelta(seconds=5)


def parse_notification(payload: str) -> SceneChange | None:
    """The trigger's JSON -> a SceneChange; None for anything else on the channel."""
    try:
        data = orjson.loads(payload)
        scene_id = uuid.UUID(str(data["id"]))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
    projects = []
    for key in ("projectId", "oldProjectId"):
        with contextlib.suppress(TypeError, ValueError):
            if data.get(key) is not None:
                projects.append(uuid.UUID(str(data[key])))
    writer = data.get("writer")
    return SceneChange(scene_id, tuple(dict.fromkeys(projects)), writer if isinstance(writer, str) and writer else None)


class SceneListener:
    def __init__(self, endpoint: Endpoint, table: str, *, on_change: Callable[[SceneChange], None],
                 on_gap: Callable[[datetime, bool], Awaitable[None]], timeout: float,
                 reconnect_seconds: float = 1.0) -> None:
        self.endpoint = endpoint
        self.channel = schema.notify_channel(table)
        self.on_change = on_change
        self.on_gap = on_gap
        self.timeout = timeout
        self.reconnect_seconds = reconnect_seconds
        self.listening = asyncio.Event()
        self._covered_at: float | None = None  # monotonic time up to which nothing was missed
        self._listened = False  # a connection was up before: a gap now may hide hard deletes too
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="scene-listener")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        # requests are served from before the first LISTEN: what changed since start-up is a gap too
        self._covered_at = asyncio.get_running_loop().time()
        backoff = self.reconnect_seconds
        while True:
            try:
                await self._listen_once()
                backoff = self.reconnect_seconds
            except asyncio.CancelledError:
                raise
            except Exception as e:  # down, refused, timed out: keep serving (the TTL is the backstop)
                if self.listening.is_set():
                    log.warning("scene listener lost its connection; reconnecting: %s", e,
                                extra={"event": "listen_down"})
                else:
                    log.info("scene listener cannot connect yet: %s", type(e).__name__,
                             extra={"event": "listen_down"})
            self.listening.clear()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    async def _listen_once(self) -> None:
        conn: asyncpg.Connection = await asyncpg.connect(
            self.endpoint.dsn, timeout=self.timeout, command_timeout=self.timeout, statement_cache_size=0,
            server_settings={"application_name": "artifact-proxy-listen"})
        lost = asyncio.Event()
        try:
            conn.add_termination_listener(lambda _conn: lost.set())
            await conn.add_listener(self.channel, self._notified)
            clock = asyncio.get_running_loop().time
            db_now: datetime = await conn.fetchval("SELECT now()")
            if self._covered_at is not None:  # what was sent before we listened (again) is lost
                since = db_now - timedelta(seconds=clock() - self._covered_at) - GAP_MARGIN
                await self.on_gap(since, self._listened)
            self._covered_at = clock()
            self._listened = True
            self.listening.set()
            log.info("listening for scene changes", extra={"event": "listen", "channel": self.channel})
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), KEEPALIVE_SECONDS)
                if not lost.is_set():
                    await conn.fetchval("SELECT 1", timeout=self.timeout)
                    self._covered_at = clock()
            raise ConnectionError("the listening connection was closed")
        finally:
            conn.terminate()

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        change = parse_notification(payload)
        if change is None:
            log.warning("ignored a malformed scene notification", extra={"event": "listen"})
            return
        self.on_change(change)
