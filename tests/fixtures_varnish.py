"""A real Varnish 7 running the shipped ops/varnish/default.vcl in front of a real proxy process.

- `varnish_factory(backend_port)` -> a started `Varnish` (loadtest/varnish.py) on a free loopback
  port, stopped at the end of the test. It fails (never skips) when varnishd is missing: `make test`
  installs it (scripts/ensure-services.sh).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from loadtest.varnish import Varnish, start_varnish


@pytest.fixture
def varnish_factory() -> Iterator[Callable[[int], Varnish]]:
    started: list[Varnish] = []

    def start(backend_port: int) -> Varnish:
        try:
            varnish = start_varnish(backend_port)
        except FileNotFoundError as e:
            pytest.fail(str(e), pytrace=False)
        started.append(varnish)
        return varnish

    yield start
    for varnish in started:
        varnish.close()
