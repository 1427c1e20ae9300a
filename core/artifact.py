"""Sealed artifacts: the stored bytes carry their own SHA-256, so any tier can verify what it reads.

The hash in an artifact's name covers the *inputs* (source + compiler), so it cannot check the bytes.
The seal is a trailing JS comment over everything before it; a truncated, garbled or foreign
object fails `unseal` and is treated as a miss. Browsers ignore the comment.
"""

from __future__ import annotations

import hashlib
import re

# How every stored module is served, by us or by a public bucket (the object's own metadata):
# content-addressed, so a new build has a new name and any copy can be cached forever. No `public`:
# max-age already makes the answer storable by shared caches (RFC 9111 3), and no request for a
# module carries Authorization, the one case `public` would change (ops/varnish passes those anyway).
JS_TYPE = "text/javascript; charset=utf-8"
MAP_TYPE = "application/json; charset=utf-8"
IMMUTABLE = "max-age=31536000, immutable"

_TRAILER = re.compile(rb"\n//# artifact-sha256=([0-9a-f]{64})\n\Z")
HASH_RE = re.compile(r"[0-9a-f]{16}")
# A map is JSON (a public bucket serves it as stored), so its seal is a last member instead of a
# comment: source map v3 allows extra top-level fields named `x_...`. The digest covers every byte before
# the `,"x_artifact_sha256"`, so the check needs no JSON parse.
_MAP_TRAILER = re.compile(rb',"x_artifact_sha256":"([0-9a-f]{64})"\}\n\Z')
_MAP_COMMENT = re.compile(rb"\n//# sourceMappingURL=[0-9a-f]{16}\.js\.map\n")


def seal(code: bytes) -> bytes:
    body = code if code.endswith(b"\n") else code + b"\n"
    return body + b"//# artifact-sha256=" + hashlib.sha256(body).hexdigest().encode() + b"\n"


def unseal(data: bytes) -> bytes | None:
    """The verified sealed bytes (unchanged), or None when the seal is missing or wrong."""
    m = _TRAILER.search(data, max(0, len(data) - 100))
    if m is None:
        return None
    body = data[: m.start() + 1]
    if hashlib.sha256(body).hexdigest().encode() != m.group(1):
        return None
    return data


def is_valid_hash(value: str) -> bool:
    return HASH_RE.fullmatch(value) is not None


# --- source maps ------------------------------------------------------------------------------------

def map_name(hash: str) -> str:
    """Where an artifact's map is, relative to the artifact: beside it, so the module's comment works
    under any prefix (this server, PROXY_PUBLIC_BASE_URL, a CDN)."""
    return f"{hash}.js.map"


def map_source_name(hash: str) -> str:
    """The scene's TSX as the map names it (`sources`): by hash, since identical code in two scenes
    shares one artifact and so one map."""
    return f"scene/{hash}.tsx"


def with_map_comment(code: bytes, hash: str) -> bytes:
    """The module with its relative `//# sourceMappingURL=` line (before the seal, which covers it)."""
    body = code if code.endswith(b"\n") else code + b"\n"
    return body + b"//# sourceMappingURL=" + map_name(hash).encode() + b"\n"


def without_map_comment(code: bytes) -> bytes:
    """The module text without its map comment (a project module inlines scene bodies: their own
    comments would point at the wrong file)."""
    return _MAP_COMMENT.sub(b"\n", code)


def seal_map(data: bytes) -> bytes:
    """A JSON object with its digest as the last member; still a valid JSON source map."""
    body = data.rstrip()
    if not body.endswith(b"}") or body == b"{}":
        raise ValueError("a source map is a non-empty JSON object")
    head = body[:-1]
    return head + b',"x_artifact_sha256":"' + hashlib.sha256(head).hexdigest().encode() + b'"}\n'


def unseal_map(data: bytes) -> bytes | None:
    """The verified sealed map (unchanged), or None when the seal is missing or wrong."""
    m = _MAP_TRAILER.search(data, max(0, len(data) - 100))
    if m is None or hashlib.sha256(data[: m.start()]).hexdigest().encode() != m.group(1):
        return None
    return data
