"""The one owner of "a scene changed": every write, wherever it came from, invalidates through here.

What a change must reach:
- this machine's L1 mappings, for the scene and for its projects' modules (the invalidation board
  makes one touch visible to every worker);
- the Redis copy of the scene's mapping (L2), so no node re-reads the old one;
- the other nodes, by a pub/sub message, when the change was ours (a write through our API or a
  recorded compile). Changes the product made itself reach every node by its own database
  listener, so those are not published again.
- the edge (CDN), by a purge of the scene's and its projects' surrogate keys, whatever the write
  (ours or the product's): the purge queue batches it and, with Redis, sends it from one node only.
A gap (a listener or the bus lost messages) clears every L1 mapping on the machine; the edge keeps
its copies: the changes re-read after a gap purge their own keys, and the edge TTL bounds the rest.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from typing import Any, Protocol

from cache.mapping import MappingCache
from proxy.edge_purge import EdgePurge, project_key, scene_key

log = logging.getLogger("artifact_proxy.invalidation")


class SharedMappings(Protocol):
    """L2 for mappings plus the cluster-wide invalidation signal (Redis); absent on one node."""

    async def get_mapping(self, scene_id: str) -> dict[str, object] | None: ...

    async def set_mapping(self, scene_id: str, version: int, value: dict[str, object]) -> None: ...

    async def delete_mapping(self, scene_id: str) -> None: ...

    async def publish_invalidate(self, scene_id: str) -> None: ...


class Invalidation:
    def __init__(self, mappings: MappingCache[Any], project_mappings: MappingCache[Any] | None = None,
                 shared: SharedMappings | None = None, edge: EdgePurge | None = None) -> None:
        self.mappings = mappings
        self.project_mappings = project_mappings
        self.shared = shared
        self.edge = edge

    async def scene_saved(self, scene_id: uuid.UUID, project_ids: Iterable[uuid.UUID | None] = (), *,
                          publish: bool = True, purge_edge: bool = True) -> None:
        """The scene's code, project or deletion changed: nobody may keep serving the old mapping.
        `purge_edge=False`: the caller purges the edge itself a little later (`purge_edge`)."""
        self.mappings.invalidate(scene_id)
        projects = [p for p in project_ids if p is not None]
        self.projects_changed(projects)
        if purge_edge:
            self.purge_edge(scene_id, projects)
        if self.shared is None:
            return
        await self.shared.delete_mapping(str(scene_id))
        if publish:
            for key in (scene_id, *projects):
                await self._publish(key)

    async def compiled(self, scene_id: uuid.UUID, project_id: uuid.UUID | None,
                       mapping: tuple[int, dict[str, object]] | None, *, purge_edge: bool = True) -> None:
        """A compile outcome was recorded: the new mapping goes to L2 (versioned, so an older one
        cannot overwrite it), then every node drops its L1 copy and re-reads it. `purge_edge=False`:
        the compile is part of a write through our API, whose write_done purges the edge once."""
        self.mappings.invalidate(scene_id)
        self.projects_changed([project_id] if project_id is not None else [])
        if purge_edge:
            self.purge_edge(scene_id, [project_id] if project_id is not None else [])
        if self.shared is None:
            return
        if mapping is not None:
            await self.shared.set_mapping(str(scene_id), *mapping)
        else:
            await self.shared.delete_mapping(str(scene_id))
        await self._publish(scene_id)
        if project_id is not None:
            await self._publish(project_id)

    def projects_changed(self, project_ids: Iterable[uuid.UUID]) -> None:
        if self.project_mappings is None:
            return
        for project_id in project_ids:
            self.project_mappings.invalidate(project_id)  # this machine's workers share the board stamp

    def gap(self) -> None:
        """Messages were lost: every worker of this machine re-reads every mapping."""
        self.mappings.clear()
        if self.project_mappings is not None:
            self.project_mappings.clear()

    async def write_done(self, scene_id: uuid.UUID, project_ids: Iterable[uuid.UUID | None]) -> None:
        """A write through our API is over (saved, compiled or not): its one edge purge. It goes out
        now, and the write waits for it briefly (PROXY_EDGE_PURGE_WAIT_SECONDS), so its author's next
        view through the edge is the new one; with no wait it is queued like any other.

        Exactly once per write: the save and the compile asked for no purge of their own, and every
        node's listener hears the write's NOTIFY marked as ours (`SceneChange.writer`) and leaves it
        to this node. By now every node has had the save's invalidation for the length of the
        compile; a node that read the old row just before the write and answers the edge only after
        this purge would leave the old pointer there until the edge TTL (PROXY_EDGE_MAX_STALE_SECONDS)."""
        if self.edge is None:
            return
        keys = [scene_key(scene_id), *(project_key(p) for p in project_ids if p is not None)]
        if self.edge.wait > 0:
            await self.edge.purge_now(keys, self.edge.wait)
        else:
            self.edge.request(keys)

    def purge_edge(self, scene_id: uuid.UUID, project_ids: Iterable[uuid.UUID | None]) -> None:
        """Drop the scene's and its projects' pointers from every edge (queued, batched, coalesced)."""
        if self.edge is not None:  # queued: never waits for the CDN, never fails the write
            self.edge.request([scene_key(scene_id), *(project_key(p) for p in project_ids if p is not None)])

    async def _publish(self, key: uuid.UUID) -> None:
        if self.shared is None:
            return
        try:
            await self.shared.publish_invalidate(str(key))
        except Exception as e:  # Redis down: other nodes fall back to the mapping TTL
            log.warning("could not publish invalidation: %s", e, extra={"event": "redis_down"})
