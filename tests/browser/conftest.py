"""Browser tests share the fixtures in tests/browser/fixtures.py, registered for the whole tree
by tests/conftest.py (pytest_plugins)."""
