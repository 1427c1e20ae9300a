"""Fixtures that start real services live in their own plugin modules, one per service.

Each test also carries its kind as a marker, from the folder it lives in, so a run can pick or
skip a kind (`-m "not browser"`, `-m cluster`) without knowing the layout."""

from __future__ import annotations

from pathlib import Path

import pytest

# folder -> the kinds of the tests in it
KINDS: dict[str, tuple[str, ...]] = {
    "browser": ("browser",),
    "e2e": ("browser",),
    "client": ("browser",),
    "reliability": ("reliability",),
    "cluster": ("cluster",),
    "loadtest": ("slow",),
}
HERE = Path(__file__).parent

pytest_plugins = [
    "tests.fixtures_s3",
    "tests.fixtures_pg",
    "tests.fixtures_server",
    "tests.fixtures_pgbouncer",
    "tests.fixtures_varnish",
    "tests.fixtures_redis",
    "tests.fixtures_backends",
    "tests.browser.fixtures",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        try:
            folder = Path(item.path).relative_to(HERE).parts[0]
        except ValueError:
            continue
        for kind in KINDS.get(folder, ()):
            item.add_marker(kind)
