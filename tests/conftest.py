"""The tests mirror the packages (tests/cache for cache/, tests/proxy/compiler for
proxy/compiler/, tests/runtime for runtime/, ...). What kind of test a module holds (browser,
reliability, cluster, slow) is a marker it declares (`pytestmark`), so a run can pick or skip a
kind (`-m "not browser"`, `-m cluster`) without knowing the layout.

Fixtures that start real services live in their own plugin modules, one per service."""

from __future__ import annotations

import pytest

pytest_plugins = [
    "tests.fixtures_s3",
    "tests.fixtures_pg",
    "tests.fixtures_server",
    "tests.fixtures_pgbouncer",
    "tests.fixtures_varnish",
    "tests.fixtures_redis",
    "tests.fixtures_backends",
    "tests.fixtures_browser",
    "tests.fixtures_browser_server",
    "tests.fixtures_cluster",
    "tests.fixtures_faults",
    "tests.fixtures_app",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Playwright's sync API owns the main thread, which the asyncio tests cannot share, so the
    # browser tests run in their own pytest process (`-m browser`): a test that drives the
    # browser without saying so would break the other run in a confusing way.
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()) and item.get_closest_marker("browser") is None:
            raise pytest.UsageError(f"{item.nodeid} uses the browser: mark its module pytest.mark.browser")
