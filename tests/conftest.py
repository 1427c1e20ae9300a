"""Fixtures that start real services live in their own plugin modules, one per service."""

pytest_plugins = [
    "tests.fixtures_s3",
    "tests.fixtures_pg",
    "tests.fixtures_server",
    "tests.fixtures_pgbouncer",
    "tests.fixtures_redis",
    "tests.fixtures_backends",
    "tests.browser.fixtures",
]
