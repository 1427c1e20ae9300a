"""The browser side: the preview page and the host runtime bundle it loads."""

from proxy.preview.page import render_preview_page
from proxy.preview.runtime import RuntimeAssets, RuntimeAssetsError, default_client_dir, default_runtime_dir

__all__ = ["RuntimeAssets", "RuntimeAssetsError", "default_client_dir", "default_runtime_dir", "render_preview_page"]
