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
IMMUTABLE = "max-age=31536000, immutable"

_TRAILER = re.compile(rb"\n//# artifact-sha256=([0-9a-f]{64})\n\Z")
HASH_RE = re.compile(r"[0-9a-f]{16}")


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
