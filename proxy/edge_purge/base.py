"""The edge purger seam: something that makes a CDN forget every answer tagged with some surrogate keys.

Two implementations: Varnish (proxy/edge_purge/varnish.py, a BAN by key) and Cloudflare
(proxy/edge_purge/cloudflare.py, purge by Cache-Tag). The queue in proxy/edge_purge/queue.py batches,
retries and coalesces the requests; a purger only sends one batch and says whether it landed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Protocol

KEY = re.compile(r"^[a-z0-9-]{1,64}$")  # what every CDN accepts as a tag, and safe inside a ban regex


def scene_key(scene_id: uuid.UUID) -> str:
    return f"scene-{scene_id}"


def project_key(project_id: uuid.UUID) -> str:
    return f"project-{project_id}"


class PurgeFailed(Exception):
    """The edge did not confirm the purge (down, refused, rate limited): the queue retries it."""


class Purger(Protocol):
    kind: str  # for metrics: "varnish", "cloudflare"
    name: str  # for logs: "varnish://host:port", "cloudflare://zone"
    max_keys: int  # keys one call may carry

    async def purge(self, keys: Sequence[str]) -> None:
        """Drop every cached answer tagged with any of `keys`; raise PurgeFailed unless confirmed."""
        ...

    async def close(self) -> None: ...
