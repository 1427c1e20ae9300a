"""The HTTP edge: every route handler is wrapped once, at registration, with what all of them need —
failures mapped to JSON errors, CORS on every answer, one latency observation by route pattern —
and a last catch-all route answers unknown paths (404), wrong methods (405) and CORS preflights.

Not an aiohttp middleware on purpose: measured on the hot artifact route, a pass-through
middleware alone cost ~16% of requests/s (aiohttp's per-request middleware machinery), this
wrapper a plain function call."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from core import metrics
from core.compiler import CompileError
from proxy.context import CTX
from proxy.errors import (
    UNAVAILABLE,
    DatabaseUnavailable,
    InvalidScene,
    Overloaded,
    ProjectNotFound,
    ProjectTooLarge,
    SceneExists,
    SceneNotFound,
)
from proxy.http import HTTPProblem, error_response

log = logging.getLogger("artifact_proxy.http")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
FALLBACK = "fallback"  # the catch-all route's name


def problem_for(exc: Exception) -> web.Response | None:
    """The one mapping from service failures to HTTP; None means an unexpected error (500)."""
    if isinstance(exc, HTTPProblem):
        return exc.response()
    if isinstance(exc, web.HTTPException) and exc.status >= 400:  # aiohttp's own, e.g. 413 body too large
        response = error_response(exc.status, exc.reason.lower().replace(" ", "_"), exc.text or exc.reason)
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    if isinstance(exc, SceneNotFound):
        return error_response(404, "not_found", "no scene with that id")
    if isinstance(exc, ProjectNotFound):
        return error_response(404, "not_found", "no scenes in that project")
    if isinstance(exc, ProjectTooLarge):
        return error_response(422, "too_many_scenes", str(exc))
    if isinstance(exc, InvalidScene):
        return error_response(422, "invalid_scene", str(exc))
    if isinstance(exc, SceneExists):
        return error_response(409, "exists", "a scene with that id exists")
    if isinstance(exc, Overloaded):
        return error_response(429, "overloaded", str(exc), {"Retry-After": str(max(1, round(exc.retry_after)))})
    if isinstance(exc, CompileError):  # only our faults reach here: the code's errors are answers
        if exc.kind == "overloaded":
            return error_response(429, "overloaded", exc.message, {"Retry-After": "1"})
        retry = max(1, round(getattr(exc, "retry_in", 1)))  # a remembered failure says when it is retried
        return error_response(503, "compiler_unavailable", _COMPILER_TEXT.get(exc.kind, "the compiler failed"),
                              {"Retry-After": str(retry)})
    if isinstance(exc, UNAVAILABLE):
        # which dependency, never its error text (paths, hosts, buckets): that goes to the log
        log.warning("dependency unavailable: %s", exc, extra={"event": "dependency_unavailable"})
        what = "database" if isinstance(exc, DatabaseUnavailable) else "storage"
        return error_response(503, "dependency_unavailable", f"{what} unavailable; retry shortly",
                              {"Retry-After": "2"})
    return None


_COMPILER_TEXT = {"timeout": "compile timed out", "crash": "the compiler failed; retry shortly"}


def edge(route: str, handler: Handler) -> Handler:
    latency: dict[int, metrics.Timings] = {}  # per status, looked up once: labels() costs microseconds

    async def answer(request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        try:
            response = await handler(request)
        except web.HTTPException as e:
            if e.status < 400:
                raise  # redirects raised by aiohttp pass through
            response = problem_for(e)  # type: ignore[assignment]  # never None for an HTTPException >= 400
        except Exception as e:
            problem = problem_for(e)
            if problem is None:
                log.exception("unhandled error", extra={"event": "error", "path": request.path})
                problem = error_response(500, "internal", "internal error")
            response = problem
        if "Access-Control-Allow-Origin" not in response.headers:
            request.app[CTX].cors.apply(response.headers, request.headers.get("Origin"))
        status = response.status
        observer = latency.get(status)
        if observer is None:
            observer = latency[status] = metrics.timings(metrics.REQUEST_SECONDS.labels(route, str(status)))
        observer.observe(time.perf_counter() - started)
        return response

    answer.__name__ = getattr(handler, "__name__", "handler")
    answer.__doc__ = handler.__doc__
    return answer


async def _fallback(request: web.Request) -> web.StreamResponse:
    if request.method == "OPTIONS":  # CORS preflight, for any path
        return request.app[CTX].cors.preflight(request)
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        if resource.name != FALLBACK:
            _match, methods = await resource.resolve(request)
            allowed |= methods
    if allowed:
        return error_response(405, "method_not_allowed", f"{request.method} is not allowed here",
                              {"Allow": ", ".join(sorted(allowed))})
    return error_response(404, "not_found", "no such route")


def add_routes(app: web.Application, table: web.RouteTableDef) -> None:
    for route in table:
        assert isinstance(route, web.RouteDef)
        wrapped = edge(route.path, route.handler)
        if route.method == "GET":
            app.router.add_get(route.path, wrapped, **route.kwargs)  # HEAD too
        else:
            app.router.add_route(route.method, route.path, wrapped, **route.kwargs)


def add_fallback(app: web.Application) -> None:
    """Last, so every real route is tried first."""
    # [\s\S], not `.`: a decoded %0A in the path is a newline, which `.` does not match (aiohttp's
    # plain-text 404 would answer instead of ours)
    app.router.add_route("*", r"/{tail:[\s\S]*}", edge("unmatched", _fallback), name=FALLBACK)
