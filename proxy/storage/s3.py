"""S3 / R2 artifact store through boto3, kept off the event loop.

* One boto3 client (thread-safe) shared by a bounded ThreadPoolExecutor of `storage_threads`
  workers; the client's connection pool has the same size, so connections are reused.
* Every call is bounded twice: botocore connect/read timeouts with one retry at most, and an
  `asyncio.wait_for` guard of `storage_timeout_seconds` around the whole call. Any failure to reach
  the backend (connection refused, timeout, 5xx, throttling, bad credentials, missing bucket) is
  raised as `StorageUnavailable`; no botocore exception escapes.
* Objects carry `Content-Type` and `Cache-Control` so a public bucket (e.g. R2) serves them
  correctly without this service.
* `put` is a conditional write (`If-None-Match: *`): an existing object is left untouched. A backend
  that rejects the header is detected once and `put` falls back to HEAD-then-PUT; since keys are
  content hashes, the remaining race can only rewrite identical bytes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from core.artifact import IMMUTABLE, JS_TYPE, MAP_TYPE
from core.storage import ObjectKind, StorageUnavailable
from proxy.storage.local import object_name

T = TypeVar("T")
log = logging.getLogger(__name__)

CONTENT_TYPE = JS_TYPE  # object metadata, so a public bucket serves modules as we do
CONTENT_TYPES: dict[str, str] = {"module": JS_TYPE, "map": MAP_TYPE}
CACHE_CONTROL = IMMUTABLE

_NOT_FOUND = {"NoSuchKey", "404", "NotFound"}
_ALREADY_EXISTS = {"PreconditionFailed", "412"}
# How emulators that do not implement conditional writes reject the header. A real error of the same
# kind resurfaces from the plain PUT that follows.
_CONDITIONAL_UNSUPPORTED = {"NotImplemented", "501", "InvalidArgument", "InvalidRequest"}


def _error_code(e: ClientError) -> str:
    return str(e.response.get("Error", {}).get("Code", ""))


def _status(e: ClientError) -> int:
    return int(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


class S3Store:
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        timeout: float = 5.0,
        threads: int = 16,
    ) -> None:
        self._bucket = bucket
        self._prefix = prefix.strip("/")
        self._endpoint_url = endpoint_url
        self._timeout = timeout
        self._conditional_put = True
        threads = max(1, threads)
        session = boto3.session.Session()
        # Region: explicit, else the standard environment/config, else "auto" for a custom endpoint
        # (what R2 expects) or "us-east-1" for AWS.
        self._region = region or session.region_name or ("auto" if endpoint_url else "us-east-1")
        config = Config(
            region_name=self._region,
            signature_version="s3v4",
            connect_timeout=timeout,
            read_timeout=timeout,
            retries={"total_max_attempts": 2, "mode": "standard"},
            max_pool_connections=threads,
            tcp_keepalive=True,
            # Custom endpoints (R2, emulators) are addressed by path; AWS keeps its default.
            s3={"addressing_style": "path"} if endpoint_url else None,
            # boto3 >= 1.36 adds CRC32 checksums to every PUT by default; R2 and several emulators reject
            # them. Artifacts carry their own SHA-256 seal (core.artifact), checked by readers.
            request_checksum_calculation="when_required" if endpoint_url else "when_supported",
            response_checksum_validation="when_required" if endpoint_url else "when_supported",
        )
        self._client: Any = session.client("s3", endpoint_url=endpoint_url, config=config)
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="s3-store")

    @property
    def bucket(self) -> str:
        return self._bucket

    @property
    def prefix(self) -> str:
        return self._prefix

    @property
    def region(self) -> str:
        return self._region

    @property
    def endpoint_url(self) -> str | None:
        return self._endpoint_url

    def key(self, hash: str, kind: ObjectKind = "module") -> str:
        """`<prefix>/<hash>.js` (or `<hash>.js` with no prefix; `.js.map` for a map); ValueError for an invalid hash."""
        name = object_name(hash, kind)
        return f"{self._prefix}/{name}" if self._prefix else name

    def describe(self) -> str:
        where = f"s3://{self._bucket}/{self._prefix}".rstrip("/")
        return f"{where} at {self._endpoint_url}" if self._endpoint_url else where

    # --- public API ---------------------------------------------------------------------------------

    async def get(self, hash: str, kind: ObjectKind = "module") -> bytes | None:
        key = self.key(hash, kind)
        return await self._run(self._get_sync, key)

    async def put(self, hash: str, data: bytes, kind: ObjectKind = "module") -> None:
        key = self.key(hash, kind)
        await self._run(self._put_sync, key, bytes(data), CONTENT_TYPES[kind])

    async def exists(self, hash: str, kind: ObjectKind = "module") -> bool:
        key = self.key(hash, kind)
        return await self._run(self._exists_sync, key)

    async def delete(self, hash: str, kind: ObjectKind = "module") -> None:
        key = self.key(hash, kind)
        await self._run(self._client.delete_object, Bucket=self._bucket, Key=key)

    async def check(self) -> None:
        await self._run(self._client.head_bucket, Bucket=self._bucket)

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._client.close()

    # --- plumbing -----------------------------------------------------------------------------------

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()

        def call() -> T:
            return fn(*args, **kwargs)

        try:
            return await asyncio.wait_for(loop.run_in_executor(self._executor, call), self._timeout)
        except TimeoutError as e:
            raise StorageUnavailable(f"{self.describe()}: timed out after {self._timeout:g}s") from e
        except ClientError as e:
            code, status = _error_code(e), _status(e)
            raise StorageUnavailable(f"{self.describe()}: {code or 'error'} (HTTP {status})") from e
        except BotoCoreError as e:
            raise StorageUnavailable(f"{self.describe()}: {e}") from e
        except OSError as e:
            raise StorageUnavailable(f"{self.describe()}: {e}") from e
        except RuntimeError as e:  # executor shut down
            raise StorageUnavailable(f"{self.describe()}: store is closed") from e

    def _get_sync(self, key: str) -> bytes | None:
        try:
            response = self._client.get_object(Bucket=self._bucket, Key=key)
        except ClientError as e:
            if _error_code(e) in _NOT_FOUND or _status(e) == 404:
                return None
            raise
        body = response["Body"]
        try:
            data: bytes = body.read()
        finally:
            body.close()
        return data

    def _exists_sync(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self._bucket, Key=key)
        except ClientError as e:
            if _error_code(e) in _NOT_FOUND or _status(e) == 404:
                return False
            raise
        return True

    def _put_sync(self, key: str, data: bytes, content_type: str = CONTENT_TYPE) -> None:
        params: dict[str, Any] = {
            "Bucket": self._bucket,
            "Key": key,
            "Body": data,
            "ContentType": content_type,
            "CacheControl": CACHE_CONTROL,
        }
        if not self._conditional_put:
            if not self._exists_sync(key):
                self._client.put_object(**params)
            return
        for attempt in range(2):
            try:
                self._client.put_object(IfNoneMatch="*", **params)
                return
            except ClientError as e:
                code, status = _error_code(e), _status(e)
                if code in _ALREADY_EXISTS or status == 412:
                    return  # already stored: a no-op
                if code == "ConditionalRequestConflict" or status == 409:
                    if attempt == 0:
                        continue  # a concurrent conditional write was in flight: ask again
                    if self._exists_sync(key):
                        return
                    raise
                if code in _CONDITIONAL_UNSUPPORTED or status == 501:
                    log.info("%s: conditional PUT unsupported, using HEAD then PUT", self.describe())
                    self._conditional_put = False
                    if not self._exists_sync(key):
                        self._client.put_object(**params)
                    return
                raise
