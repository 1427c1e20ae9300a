"""A real PgBouncer in transaction mode in front of the test PostgreSQL (what Neon's pooled URL is).

- `pgbouncer` (session): a started `Pgbouncer` (loadtest/pgbouncer.py) on a free loopback port,
  stopped at the end. It fails (never skips) when the binary is missing: `make test` installs it.
- `Pgbouncer.pooled(dsn)`: the same database through the pooler, with `?pgbouncer=true`.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from loadtest.pgbouncer import Pgbouncer, start_pgbouncer


@pytest.fixture(scope="session")
def pgbouncer(pg_admin_dsn: str) -> Iterator[Pgbouncer]:
    parts = urlsplit(pg_admin_dsn)
    try:
        bouncer = start_pgbouncer(parts.hostname or "127.0.0.1", parts.port or 5432)
    except FileNotFoundError as e:
        pytest.fail(str(e), pytrace=False)
    yield bouncer
    bouncer.stop()
