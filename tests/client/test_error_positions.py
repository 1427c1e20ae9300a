"""The scene client's default error panel reports a render error at its TSX line (`Scene.tsx:L:C: …`)
through the proxy's source maps, and shows the plain message when the position route is missing."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.client.test_scene_client import ONE_SCENE, TIMEOUT, js
from tests.fixtures_browser_server import ProxyClient

pytestmark = pytest.mark.browser

THROWER = """import { AbsoluteFill, useCurrentFrame } from 'remotion';

type Props = { data?: { value: string } };

export default function Thrower({ data }: Props) {
  const frame = useCurrentFrame();
  return <AbsoluteFill><h1>frame {frame}</h1><p>{(data as any).value}</p></AbsoluteFill>;
}
"""
MESSAGE = "Cannot read properties of undefined (reading 'value')"


def panel_message(page: Any) -> str:
    return str(page.locator("[data-slot=one] [data-scene-error] span").inner_text(timeout=TIMEOUT))


def test_the_default_panel_shows_a_render_error_at_its_tsx_line(page: Any, proxy: ProxyClient,
                                                                view_page: Any) -> None:
    meta = proxy.create_scene(THROWER, "thrower")
    assert meta["status"] == "ready"
    page.goto(view_page("/thrower.html", js(ONE_SCENE, id=meta["id"], frame=2)))
    page.wait_for_function("() => /^Scene\\.tsx:/.test(document.querySelector('[data-scene-error] span')"
                           "?.innerText || '')", timeout=TIMEOUT)
    line = next(n for n, text in enumerate(THROWER.split("\n"), 1) if "(data as any).value" in text)
    m = re.fullmatch(r"Scene\.tsx:(\d+):(\d+): (.*)", panel_message(page))
    assert m is not None and int(m.group(1)) == line and m.group(3) == MESSAGE
    assert THROWER.split("\n")[line - 1].index("(data as any)") < int(m.group(2))


def test_without_the_position_route_the_panel_shows_the_message_as_it_was(page: Any, proxy: ProxyClient,
                                                                          view_page: Any) -> None:
    meta = proxy.create_scene(THROWER.replace("frame {frame}", "again {frame}"), "thrower-old-proxy")
    asked: list[str] = []

    def missing(route: Any) -> None:  # an older proxy: no such route
        asked.append(route.request.url)
        route.fulfill(status=404, content_type="application/json", body='{"error": {"code": "not_found"}}')

    page.route(re.compile(r".*/original-position\?.*"), missing)
    page.goto(view_page("/thrower-old.html", js(ONE_SCENE, id=meta["id"], frame=2)))
    page.locator("[data-slot=one] [data-scene-error]").wait_for(state="visible", timeout=TIMEOUT)
    for _ in range(100):  # the panel asks once it is shown; bounded at 10 s
        if asked:
            break
        page.wait_for_timeout(100)
    assert asked, "the panel asked the proxy"
    page.wait_for_timeout(300)  # time for an answer to reach the panel, had there been one
    assert panel_message(page) == MESSAGE
    assert not page.errors.uncaught, page.errors.uncaught
