"""The admin bearer token guarding every write endpoint."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from proxy.context import ctx
from proxy.http import HTTPProblem, fail

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def require_admin(handler: Handler) -> Handler:
    async def guarded(request: web.Request) -> web.StreamResponse:
        token = ctx(request).settings.admin_token
        if token is None:
            fail(403, "writes_disabled",
                 "write endpoints are disabled: set PROXY_ADMIN_TOKEN and send 'Authorization: Bearer <token>'")
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        # compare_digest on bytes: constant time whatever the input, so timing leaks nothing
        # surrogateescape: a header with non-UTF-8 bytes is a wrong token, not a 500
        # an empty presented token is refused before any comparison, whatever the configured one
        if scheme.lower() != "bearer" or not given.strip() or not hmac.compare_digest(
                given.strip().encode("utf-8", "surrogateescape"), token.get_secret_value().encode()):
            raise HTTPProblem(401, "unauthorized", "missing or invalid bearer token",
                              headers={"WWW-Authenticate": 'Bearer realm="artifact-proxy"'})
        return await handler(request)

    guarded.__name__ = handler.__name__
    guarded.__doc__ = handler.__doc__
    return guarded

