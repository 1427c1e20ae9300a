"""Redis for tests: the machine's server on 127.0.0.1:6379, a database and key prefix per test."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator

import pytest
import redis
import redis.asyncio as aioredis

from cache.bus import RedisBus

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"test-{secrets.token_hex(4)}:"
    yield prefix
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=0)
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def redis_url(redis_prefix: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The URL; the per-test key prefix reaches spawned servers through PROXY_REDIS_KEY_PREFIX."""
    try:
        redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_connect_timeout=2).ping()
    except redis.RedisError as e:
        pytest.fail(f"Redis is not running on {REDIS_HOST}:{REDIS_PORT} (make services): {e}")
    monkeypatch.setenv("PROXY_REDIS_KEY_PREFIX", redis_prefix)
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/0"


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """An asyncio client on the machine's Redis; keys under `redis_prefix` are deleted after the test."""
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def redis_buses() -> AsyncIterator[list[RedisBus]]:
    """Pub/sub buses a test started: closed after it, even when it fails."""
    buses: list[RedisBus] = []
    yield buses
    for bus in buses:
        await bus.close()
