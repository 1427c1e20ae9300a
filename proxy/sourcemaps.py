"""Compiled positions back to the scene's TSX, through the artifacts' source maps.

A browser reports where an error happened in the *compiled* module (`/components/<hash>.js:48:60`);
the product shows errors to people and to the code-fixing model by TSX line. This turns one into
the other: `original_position(hash, line, column)` with 1-based lines and columns, as stack traces
and editors count them.

Decoding is Sentry's `symbolic` (pinned in pyproject.toml: a maintained Rust source-map library
with Python bindings that reads plain and index maps alike). A lookup returns the nearest mapping at
or before the column *on the same line*; a position on a line with no mapping (code we generated:
host bindings, a project's glue) is reported as unmapped, never as some earlier line's code.

Parsed maps are kept per hash (a few dozen): an error repeats on every frame of a broken scene.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from dataclasses import dataclass

from symbolic.sourcemap import SourceMapView

from cache.tiers import Artifact


@dataclass(frozen=True, slots=True)
class OriginalPosition:
    """Where a compiled position comes from; all None when nothing of the scene is there."""

    source: str | None
    line: int | None
    column: int | None
    name: str | None = None
    scene_id: str | None = None  # in a project's map: the scene whose code it is

    def to_json(self) -> dict[str, object]:
        return {"source": self.source, "line": self.line, "column": self.column, "name": self.name,
                "sceneId": self.scene_id}


UNMAPPED = OriginalPosition(None, None, None)
_SCENE_SOURCE_PREFIX = "scene/"


@dataclass(frozen=True, slots=True)
class _Parsed:
    view: SourceMapView
    scene_ids: frozenset[str]  # the scene ids a project's map names its sources by


def _parse(data: bytes) -> _Parsed:
    view = SourceMapView.from_json_bytes(data)
    raw = json.loads(data)
    scene_ids = frozenset(str(s) for s in raw.get("x_sceneIds", ()) if isinstance(s, str))
    return _Parsed(view, scene_ids)


class PositionMapper:
    def __init__(self, max_maps: int = 32) -> None:
        self._parsed: OrderedDict[str, _Parsed] = OrderedDict()
        self._max = max_maps

    async def lookup(self, source_map: Artifact, line: int, column: int) -> OriginalPosition:
        """`line` and `column` 1-based in the compiled module; the answer 1-based in the TSX."""
        parsed = self._parsed.get(source_map.etag)
        if parsed is None:
            # a project's map can be megabytes: parse it off the event loop
            if len(source_map.identity) > 64 * 1024:
                parsed = await asyncio.to_thread(_parse, source_map.identity)
            else:
                parsed = _parse(source_map.identity)
            self._parsed[source_map.etag] = parsed
            if len(self._parsed) > self._max:
                self._parsed.popitem(last=False)
        else:
            self._parsed.move_to_end(source_map.etag)
        token = parsed.view.lookup(line - 1, column - 1)
        if token is None or token.dst_line != line - 1 or token.src is None:
            return UNMAPPED
        scene_id = None
        stem = token.src.removeprefix(_SCENE_SOURCE_PREFIX).removesuffix(".tsx")
        if stem in parsed.scene_ids:
            scene_id = stem
        return OriginalPosition(token.src, token.src_line + 1, token.src_col + 1, token.name, scene_id)
