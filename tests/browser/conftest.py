"""Browser tests share the fixtures in tests/browser/fixtures.py."""

from tests.browser.fixtures import browser, page, preview_site, runtime_assets, serve

__all__ = ["browser", "page", "preview_site", "runtime_assets", "serve"]
