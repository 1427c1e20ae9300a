"""HTTP details in one place: JSON error bodies, conditional requests, content negotiation, CORS."""

from __future__ import annotations

import asyncio
import hashlib
import re
from typing import Any, NoReturn

import orjson
from aiohttp import web

from core.artifact import IMMUTABLE, JS_TYPE, MAP_TYPE

JSON_TYPE = "application/json"


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type=JSON_TYPE, headers=headers)


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None,
                   **extra: Any) -> web.Response:
    # An error is about this moment (a scene not created yet, a database down): a shared cache
    # keeping it by its heuristics (Varnish: 2 min for a 404) would outlive the cause. A route
    # that means otherwise (the artifact 404's max-age=10) says so in `headers`.
    headers = {"Cache-Control": "no-store", **(headers or {})}
    return json_response({"error": {"code": code, "message": message, **extra}}, status, headers)


class HTTPProblem(Exception):
    """Raised anywhere under a route; the edge (`proxy/edge.py`) answers it as `{error: {code, message}}`."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers, self.extra = status, code, message, headers, extra

    def response(self) -> web.Response:
        return error_response(self.status, self.code, self.message, self.headers, **self.extra)


def fail(status: int, code: str, message: str, **extra: Any) -> NoReturn:
    raise HTTPProblem(status, code, message, **extra)


# --- conditional requests (RFC 9110 §13.1.2: If-None-Match uses the weak comparison) ----------------

def etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        if candidate.strip().removeprefix("W/") == opaque:
            return True
    return False


def digest_etag(body: bytes) -> str:
    """A strong ETag for an answer built per request: a digest of its exact bytes, so it changes
    exactly when the answer does, whatever it was built from (a scene row, a page template)."""
    return f'"{hashlib.blake2b(body, digest_size=8).hexdigest()}"'


def validated_response(request: web.Request, body: bytes, content_type: str,
                       headers: dict[str, str]) -> web.Response:
    """200 with a strong ETag over `body`, or 304 when If-None-Match names it: a `no-cache` answer
    built per request still revalidates in a few bytes. A 304 carries `headers` (Cache-Control, Vary,
    ...: what the 200 would, RFC 9110 15.4.5) but not Content-Type, which describes the body it lacks."""
    etag = digest_etag(body)
    headers = {**headers, "ETag": etag}
    if etag_matches(request.headers.get("If-None-Match"), etag):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, headers={**headers, "Content-Type": content_type})


# --- shared (edge) caches ------------------------------------------------------------------------------

def edge_cache_headers(max_stale: int | None, *keys: str) -> dict[str, str]:
    """Headers that let the purged CDN keep a pointer for `max_stale` seconds, tagged for purging.

    `Cache-Control` (what browsers and any cache we cannot purge obey) is left as the route sets it,
    `no-cache`: browsers revalidate every view. Only the edges we purge get a TTL, through headers each
    of them consumes and does not pass on: `Surrogate-Control` (Varnish with ops/varnish/default.vcl,
    Fastly) and `Cloudflare-CDN-Cache-Control` (Cloudflare). Not RFC 9213's `CDN-Cache-Control`:
    Cloudflare forwards it, and any other CDN on the way, which nobody purges, would obey it.
    Keys: `Surrogate-Key` (space-separated: Varnish, Fastly) and `Cache-Tag` (comma-separated: Cloudflare).
    """
    if not max_stale:
        return {}
    ttl = f"max-age={max_stale}"
    return {"Surrogate-Control": ttl, "Cloudflare-CDN-Cache-Control": ttl, "Surrogate-Key": " ".join(keys),
            "Cache-Tag": ",".join(keys)}


# --- content negotiation ----------------------------------------------------------------------------

_CODING = re.compile(r"\s*([a-zA-Z0-9*-]+)\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*")


def choose_encoding(accept_encoding: str | None, brotli: bool = True) -> str:
    """'br', 'gzip' or 'identity': the best coding the client accepts (q > 0) among those we have;
    br wins ties (smaller)."""
    if not accept_encoding:
        return "identity"
    q: dict[str, float] = {}
    for part in accept_encoding.split(","):
        m = _CODING.fullmatch(part)
        if not m:
            continue
        try:
            q[m.group(1).lower()] = float(m.group(2)) if m.group(2) is not None else 1.0
        except ValueError:
            continue
    star = q.get("*", 0.0)
    best, best_q = "identity", 0.0
    for coding in ("br", "gzip") if brotli else ("gzip",):
        weight = q.get(coding, star)
        if weight > best_q:
            best, best_q = coding, weight
    return best


# --- CORS -------------------------------------------------------------------------------------------

def immutable_headers(etag: str, content_type: str = JS_TYPE) -> dict[str, dict[str, str]]:
    """The headers of an immutable, content-addressed module, per encoding and for 304: computed once
    per artifact (cache/tiers.py keeps them beside the bytes), so the hot path only picks one."""
    base = {**Cors.PUBLIC, "Cache-Control": IMMUTABLE, "Vary": "Accept-Encoding",
            "X-Content-Type-Options": "nosniff", "ETag": etag}
    js = {**base, "Content-Type": content_type}
    return {"304": base, "identity": js, "gzip": {**js, "Content-Encoding": "gzip"},
            "br": {**js, "Content-Encoding": "br"}}


def immutable_map_headers(etag: str) -> dict[str, dict[str, str]]:
    """The same for a module's source map: only its type differs."""
    return immutable_headers(etag, MAP_TYPE)


class Cors:
    """Origin allow-list from PROXY_CORS_ORIGINS; '*' answers every origin without credentials."""

    EXPOSE = ("ETag, Location, Content-Location, X-Compilation-Error, X-Compilation-Errors, X-Artifact-Hash, "
              "X-Scene-Count, Retry-After")

    def __init__(self, origins: list[str]) -> None:
        self.any = "*" in origins
        self.origins = frozenset(origins)

    # Immutable artifacts are public and credential-free: '*' for every caller, whatever the allow-list.
    # A per-origin value would be wrong on a response CDNs cache for a year, and after a cross-origin
    # 302 browsers send `Origin: null`, which no allow-list matches.
    PUBLIC = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": EXPOSE}

    def headers_for(self, origin: str | None) -> dict[str, str]:
        if self.any:
            return {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": self.EXPOSE}
        if origin and origin in self.origins:
            return {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": self.EXPOSE,
                    "Vary": "Origin"}
        # refused or absent, the answer still depends on Origin: a shared cache must not reuse it
        # for an allowed origin (or the other way round)
        return {"Vary": "Origin"}

    def apply(self, headers: dict[str, str] | Any, origin: str | None) -> None:
        """Add this origin's CORS headers to `headers`, merging Vary rather than replacing it."""
        for name, value in self.headers_for(origin).items():
            if name == "Vary":
                add_vary(headers, value)
            else:
                headers[name] = value

    def preflight(self, request: web.Request) -> web.Response:
        headers = self.headers_for(request.headers.get("Origin"))
        # Expose-Headers is read from the actual response only (Fetch, CORS protocol): on a preflight
        # it says nothing, so it is not sent
        headers.pop("Access-Control-Expose-Headers", None)
        if "Access-Control-Allow-Origin" in headers:
            headers.update({
                "Access-Control-Allow-Methods": "GET, HEAD, POST, PUT, OPTIONS",
                "Access-Control-Allow-Headers": request.headers.get(
                    "Access-Control-Request-Headers", "Authorization, Content-Type, If-None-Match"),
                "Access-Control-Max-Age": "86400",
            })
        return web.Response(status=204, headers=headers)


def add_vary(headers: dict[str, str] | Any, value: str) -> None:
    """Add tokens to a Vary header without dropping the ones already there."""
    current = [v.strip() for v in headers.get("Vary", "").split(",") if v.strip()]
    for token in (v.strip() for v in value.split(",")):
        if token and token.lower() not in (c.lower() for c in current):
            current.append(token)
    headers["Vary"] = ", ".join(current)


# --- request bodies ---------------------------------------------------------------------------------

# aiohttp never times out a body read: a client trickling its body (slowloris) would hold a connection
# and a handler for as long as it likes. A 1 MB JSON body on any real link arrives well within this.
BODY_READ_TIMEOUT = 10.0


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object, or a clear 4xx: 415 wrong type, 413 too large, 408 too slow, 400 malformed."""
    ctype = request.content_type
    if ctype != JSON_TYPE and not ctype.endswith("+json"):
        fail(415, "unsupported_media_type", f"send Content-Type: application/json (got {ctype or 'none'})")
    try:  # bounded in size by the app's client_max_size (413 beyond it), and here in time
        raw = await asyncio.wait_for(request.read(), BODY_READ_TIMEOUT)
    except TimeoutError:
        raise HTTPProblem(408, "request_timeout", f"the body did not arrive within {BODY_READ_TIMEOUT:g}s",
                          headers={"Connection": "close"}) from None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        fail(400, "invalid_json", f"body is not valid JSON: {e}")
    if not isinstance(data, dict):
        fail(400, "invalid_json", "body must be a JSON object")
    return data


def optional_str(data: dict[str, Any], key: str, max_len: int = 1000) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > max_len:
        fail(400, "invalid_field", f"{key} must be a string of at most {max_len} characters")
    return value
