"""Artifact storage: immutable bytes under a content hash.

`create_store(settings)` picks the backend from `Settings.storage_url`:

* `file://./data/artifacts` (relative to the working directory), `file:///abs/dir` -> LocalStore
* `s3://bucket/prefix` -> S3Store (endpoint `Settings.s3_endpoint_url`, e.g. R2 or an emulator)

Keys are `<prefix>/<hash>.js`; a hash is 16 lowercase hex digits, anything else is a ValueError
raised before any I/O.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from config.settings import Settings
from core.storage import ArtifactStore, StorageUnavailable
from proxy.storage.local import LocalStore, check_hash
from proxy.storage.s3 import CACHE_CONTROL, CONTENT_TYPE, S3Store

__all__ = [
    "CACHE_CONTROL",
    "CONTENT_TYPE",
    "ArtifactStore",
    "LocalStore",
    "S3Store",
    "StorageUnavailable",
    "check_hash",
    "create_store",
    "local_path_from_url",
]


def local_path_from_url(url: str) -> Path:
    """`file://./rel`, `file://rel/dir`, `file:rel`, `file:///abs`, `file://localhost/abs` -> absolute path
    (relative ones against the current working directory)."""
    parts = urlsplit(url)
    if parts.scheme != "file":
        raise ValueError(f"not a file URL: {url!r}")
    host, path = unquote(parts.netloc), unquote(parts.path)
    if host in ("", "localhost"):
        raw = path
    else:  # file://./data/x -> "./data/x"; file://data/x -> "data/x"; file://~/x -> "~/x"
        raw = host + path
    if not raw:
        raise ValueError(f"file URL without a path: {url!r}")
    return Path(raw).expanduser().absolute()


def create_store(settings: Settings) -> ArtifactStore:
    """The configured store. Call once at start-up (a LocalStore creates its directory and removes
    crash leftovers; an S3Store builds its client)."""
    url = settings.storage_url
    parts = urlsplit(url)
    if parts.scheme == "file":
        return LocalStore(
            local_path_from_url(url),
            timeout=settings.storage_timeout_seconds,
            threads=min(settings.storage_threads, 8),
        )
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ValueError("s3 URL needs a bucket: s3://bucket/prefix")
        return S3Store(
            parts.netloc,
            unquote(parts.path).strip("/"),
            endpoint_url=settings.s3_endpoint_url,
            timeout=settings.storage_timeout_seconds,
            threads=settings.storage_threads,
        )
    raise ValueError(f"unknown storage scheme {parts.scheme!r}: use file://./dir or s3://bucket/prefix")
