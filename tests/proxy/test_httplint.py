"""Every route of the contract, linted by an outside HTTP linter (httplint, the library behind REDbot).

A real server process is sent a table of requests (`EXCHANGES`, in order: later rows use what earlier
answers said, such as a hash or an ETag). Each raw answer (status line, header fields as they came
off the wire, body bytes as sent, content coding included) is fed to httplint's response linter,
linked to a request linter fed the exact request, so preflight, CORS and conditional checks know what
was asked. The test fails on any BAD note, and on any WARN a row (or `ACCEPTED_EVERYWHERE`) does not
accept with a written reason; the failure prints every such note with its explanation, and the
answer's headers. `beyond_the_linter` adds the rules the pinned httplint lacks.

The table runs three times: wildcard CORS; an allow-list with edge-purged pointers (their
Surrogate-* headers); and that again through a real Varnish running ops/varnish/default.vcl.

To cover a new route, add rows to `EXCHANGES`: a request, the status it must get, what to remember
from the answer for later rows (`remember`), and the WARNs it accepts and why (`accept`).
"""

from __future__ import annotations

import http.client
import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from httplint import HttpRequestLinter, HttpResponseLinter, Note, levels

from loadtest.varnish import Varnish
from tests.fixtures_server import TOKEN, ServerProcess, free_port
from tests.proxy.conftest import BROKEN, GOOD, GOOD2

ALLOWED = "https://app.example.com"
REFUSED = "https://elsewhere.example.net"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
UA = {"User-Agent": "artifact-proxy-httplint-test/1"}

# WARNs that any answer may carry, each with why it is right here (none today: keep this short)
ACCEPTED_EVERYWHERE: Mapping[str, str] = {}
# ...and behind Varnish (ops/varnish/default.vcl)
ACCEPTED_BEHIND_VARNISH: Mapping[str, str] = {
    **ACCEPTED_EVERYWHERE,
    "HEADER_SHOULD_NOT_BE_IN_304": "Varnish 7 makes its 304 from the stored 200 after vcl_deliver has run, so it keeps "
    "Content-Type (a SHOULD NOT, RFC 9110 15.4.5; browsers keep the stored one); the origin's own 304s carry none, "
    "and VCL guessing which answers will become 304s could strip it from a 200, which import() refuses",
}
# the rows that send a malformed request on purpose
MALFORMED = {"STATUS_BAD_REQUEST": "the request is malformed on purpose: 400 is the contract's answer"}


@dataclass(frozen=True)
class Exchange:
    """One request and what its answer must be. `path`, header values and `body` are templates
    (`str.format`) over what earlier rows remembered and the ids the test chose."""

    name: str
    method: str
    path: str
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None  # JSON-encoded when not bytes
    content_type: str = "application/json"
    # var -> "header:Name" or "json:key": taken from this answer for later rows
    remember: Mapping[str, str] = field(default_factory=dict)
    # WARN note class name -> the reason it is right for this answer
    accept: Mapping[str, str] = field(default_factory=dict)


def scene_body(code: str, var: str, project: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"id": "{" + var + "}", "tsxCode": code, **({"projectId": "{" + project + "}"} if project else {}),
            **extra}


GZIP = {"Accept-Encoding": "gzip"}
BR = {"Accept-Encoding": "br, gzip"}

EXCHANGES: list[Exchange] = [
    # --- writes (admin) -----------------------------------------------------------------------------
    Exchange("create scene", "POST", "/api/scenes", 201, AUTH, scene_body(GOOD, "scene", "project", name="one"),
             remember={"hash": "json:compiledHash"}),
    Exchange("create second scene of the project", "POST", "/api/scenes", 201, AUTH,
             scene_body(GOOD2, "scene2", "project")),
    Exchange("create never-good scene", "POST", "/api/scenes", 201, AUTH, scene_body(BROKEN, "broken")),
    *[Exchange(f"create scene {i} of the too-large project", "POST", "/api/scenes", 201, AUTH,
               scene_body(GOOD, f"big{i}", "big_project")) for i in range(3)],
    Exchange("edit scene (good)", "PUT", "/api/scenes/{scene2}", 200, AUTH, {"tsxCode": GOOD2 + "\n// v2\n"}),
    Exchange("edit scene (broken: last good stays)", "PUT", "/api/scenes/{scene2}", 200, AUTH, {"tsxCode": BROKEN}),
    Exchange("scene changed", "POST", "/api/scenes/{scene}/changed", 202, AUTH),
    Exchange("write without token", "POST", "/api/scenes", 401, body={"tsxCode": GOOD}),
    Exchange("write with a wrong token", "PUT", "/api/scenes/{scene}", 401,
             {"Authorization": "Bearer wrong-token-of-some-length"}, {"tsxCode": GOOD}),
    Exchange("write with malformed JSON", "POST", "/api/scenes", 400, AUTH, b"{not json", accept=MALFORMED),
    Exchange("write with the wrong media type", "POST", "/api/scenes", 415, AUTH, b"tsxCode=x",
             content_type="application/x-www-form-urlencoded"),
    Exchange("write without tsxCode", "POST", "/api/scenes", 400, AUTH, {"name": "x"}, accept=MALFORMED),
    Exchange("edit of an unknown scene", "PUT", "/api/scenes/{unknown}", 404, AUTH, {"tsxCode": GOOD}),
    # --- compile ------------------------------------------------------------------------------------
    Exchange("compile", "POST", "/api/compile", 200, AUTH, {"tsxCode": GOOD}),
    Exchange("compile error", "POST", "/api/compile", 422, AUTH, {"tsxCode": BROKEN}),
    # --- the scene route ----------------------------------------------------------------------------
    Exchange("scene redirect", "GET", "/api/components/{scene}", 302),
    Exchange("scene redirect, allowed origin", "GET", "/api/components/{scene}", 302, {"Origin": ALLOWED}),
    Exchange("scene redirect, refused origin", "GET", "/api/components/{scene}", 302, {"Origin": REFUSED}),
    Exchange("scene redirect, sandboxed (null) origin", "GET", "/api/components/{scene}", 302, {"Origin": "null"}),
    Exchange("scene redirect to the last good artifact", "GET", "/api/components/{scene2}", 302),
    Exchange("scene redirect, HEAD", "HEAD", "/api/components/{scene}", 302),
    Exchange("error module of a never-good scene", "GET", "/api/components/{broken}", 200),
    Exchange("unknown scene", "GET", "/api/components/{unknown}", 404),
    Exchange("malformed scene id", "GET", "/api/components/not-a-uuid", 400, accept=MALFORMED),
    # --- metadata -----------------------------------------------------------------------------------
    Exchange("metadata", "GET", "/api/components/{scene}/metadata", 200, remember={"meta_etag": "header:ETag"}),
    Exchange("metadata revalidated", "GET", "/api/components/{scene}/metadata", 304,
             {"If-None-Match": "{meta_etag}"}),
    Exchange("metadata, allowed origin", "GET", "/api/components/{scene}/metadata", 200, {"Origin": ALLOWED}),
    Exchange("metadata of a scene in error", "GET", "/api/components/{broken}/metadata", 200),
    Exchange("metadata of an unknown scene", "GET", "/api/components/{unknown}/metadata", 404),
    # --- artifacts (the hot path) -------------------------------------------------------------------
    Exchange("artifact", "GET", "/components/{hash}.js", 200, remember={"artifact_etag": "header:ETag"}),
    Exchange("artifact revalidated", "GET", "/components/{hash}.js", 304, {"If-None-Match": "{artifact_etag}"}),
    Exchange("artifact, gzip", "GET", "/components/{hash}.js", 200, GZIP),
    Exchange("artifact, br", "GET", "/components/{hash}.js", 200, BR),
    Exchange("artifact, HEAD", "HEAD", "/components/{hash}.js", 200),
    Exchange("artifact, allowed origin", "GET", "/components/{hash}.js", 200, {"Origin": ALLOWED}),
    Exchange("unknown artifact", "GET", "/components/0123456789abcdef.js", 404),
    Exchange("malformed artifact name", "GET", "/components/zzzz.js", 404),
    # --- source maps and positions ------------------------------------------------------------------
    Exchange("source map", "GET", "/components/{hash}.js.map", 200, remember={"map_etag": "header:ETag"}),
    Exchange("source map revalidated", "GET", "/components/{hash}.js.map", 304, {"If-None-Match": "{map_etag}"}),
    Exchange("source map, gzip", "GET", "/components/{hash}.js.map", 200, GZIP),
    Exchange("source map, br, allowed origin", "GET", "/components/{hash}.js.map", 200, {**BR, "Origin": ALLOWED}),
    Exchange("source map, HEAD", "HEAD", "/components/{hash}.js.map", 200),
    Exchange("unknown source map", "GET", "/components/0123456789abcdef.js.map", 404),
    Exchange("original position", "GET", "/api/components/{scene}/original-position?line=3&column=10", 200),
    Exchange("original position, pinned", "GET",
             "/api/components/{scene}/original-position?line=3&column=10&hash={hash}", 200),
    Exchange("original position, sandboxed (null) origin", "GET",
             "/api/components/{scene}/original-position?line=1&column=1", 200, {"Origin": "null"}),
    Exchange("original position without a line", "GET", "/api/components/{scene}/original-position?column=1", 400,
             accept=MALFORMED),
    Exchange("original position of a never-good scene", "GET",
             "/api/components/{broken}/original-position?line=1&column=1", 404),
    # --- project module -----------------------------------------------------------------------------
    Exchange("project module", "GET", "/api/projects/{project}/components", 200,
             remember={"project_etag": "header:ETag", "project_hash": "header:X-Artifact-Hash"}),
    Exchange("project source map beside the module", "GET", "/api/projects/{project}/{project_hash}.js.map", 200),
    Exchange("project original position", "GET", "/api/projects/{project}/original-position?line=1&column=1", 200),
    Exchange("project module revalidated", "GET", "/api/projects/{project}/components", 304,
             {"If-None-Match": "{project_etag}"}),
    Exchange("project module, gzip", "GET", "/api/projects/{project}/components", 200, GZIP),
    Exchange("project module, br, allowed origin", "GET", "/api/projects/{project}/components", 200,
             {**BR, "Origin": ALLOWED}),
    Exchange("project over the scene limit", "GET", "/api/projects/{big_project}/components", 422),
    Exchange("unknown project", "GET", "/api/projects/{unknown}/components", 404),
    # --- preview and runtime ------------------------------------------------------------------------
    Exchange("preview", "GET", "/preview/{scene}", 200, remember={"preview_etag": "header:ETag"}),
    Exchange("preview revalidated", "GET", "/preview/{scene}", 304, {"If-None-Match": "{preview_etag}"}),
    Exchange("preview still", "GET", "/preview/{scene}?frame=12", 200),
    Exchange("preview, bad frame", "GET", "/preview/{scene}?frame=x", 400, accept=MALFORMED),
    Exchange("preview of an unknown scene", "GET", "/preview/{unknown}", 404),
    Exchange("host runtime pointer", "GET", "/runtime/host-runtime.js", 302, remember={"runtime": "header:Location"}),
    Exchange("host runtime", "GET", "{runtime}", 200, GZIP, remember={"runtime_etag": "header:ETag"}),
    Exchange("host runtime revalidated", "GET", "{runtime}", 304, {"If-None-Match": "{runtime_etag}"}),
    Exchange("scene client pointer", "GET", "/runtime/scene-client.js", 302, remember={"client": "header:Location"}),
    Exchange("scene client", "GET", "{client}", 200, BR),
    Exchange("unknown runtime file", "GET", "/runtime/nothing.js", 404),
    # --- flags --------------------------------------------------------------------------------------
    Exchange("set flag", "PUT", "/api/flags/server-compilation", 200, AUTH, {"rolloutPercentage": 50}),
    Exchange("flag", "GET", "/api/flags/server-compilation?userId=u1", 200),
    Exchange("bad flag name", "GET", "/api/flags/-bad-", 400, accept=MALFORMED),
    Exchange("bad rollout", "PUT", "/api/flags/server-compilation", 400, AUTH, {"rolloutPercentage": 101},
             accept=MALFORMED),
    # --- operations ---------------------------------------------------------------------------------
    Exchange("healthz", "GET", "/healthz", 200),
    Exchange("readyz", "GET", "/readyz", 200),
    Exchange("metrics", "GET", "/metrics", 200),
    # --- CORS preflight and the fallback ------------------------------------------------------------
    Exchange("preflight, allowed origin", "OPTIONS", "/api/scenes", 204,
             {"Origin": ALLOWED, "Access-Control-Request-Method": "POST",
              "Access-Control-Request-Headers": "authorization, content-type"}),
    Exchange("preflight, refused origin", "OPTIONS", "/api/scenes", 204,
             {"Origin": REFUSED, "Access-Control-Request-Method": "POST"}),
    Exchange("preflight of an artifact", "OPTIONS", "/components/{hash}.js", 204,
             {"Origin": ALLOWED, "Access-Control-Request-Method": "GET",
              "Access-Control-Request-Headers": "if-none-match"}),
    Exchange("unknown route", "GET", "/nothing/here", 404),
    Exchange("wrong method", "DELETE", "/api/components/{scene}", 405),
]


# --- one exchange on the wire -----------------------------------------------------------------------

@dataclass
class Answer:
    version: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def send(port: int, method: str, target: str, headers: list[tuple[str, str]], body: bytes | None) -> Answer:
    """The request exactly as listed (no header added by the client library), the answer as it came:
    header fields in order and repeated as sent, the body undecoded."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders(body)
        r = conn.getresponse()
        raw = r.read()
        version = {10: "HTTP/1.0", 11: "HTTP/1.1"}.get(r.version, f"HTTP/{r.version}")
        return Answer(version, r.status, r.reason, list(r.getheaders()), raw)
    finally:
        conn.close()


def lint(base: str, method: str, target: str, headers: list[tuple[str, str]], body: bytes | None,
         answer: Answer, started: float) -> list[tuple[str, Note]]:
    """httplint's notes on the request and on its answer, each with what it is about."""
    request = HttpRequestLinter(start_time=started)
    request.process_request_topline(method.encode(), (base + target).encode(), b"HTTP/1.1")
    request.process_headers([(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers])
    if body:
        request.feed_content(body)
    request.finish_content(True)
    response = HttpResponseLinter(start_time=started)
    response.request = request
    response.is_head_response = method == "HEAD"
    response.process_response_topline(answer.version.encode(), str(answer.status).encode(), answer.reason.encode())
    response.process_headers([(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers])
    response.feed_content(answer.body)
    response.finish_content(True)
    return [("request", n) for n in flatten(request.notes)] + [("response", n) for n in flatten(response.notes)]


def flatten(notes: Iterable[Note]) -> list[Note]:
    out: list[Note] = []
    for note in notes:
        out.append(note)
        out.extend(flatten(note.subnotes))
    return out


def describe(note: Note) -> str:
    text = re.sub(r"<[^>]+>", "", note.detail)
    return f"{note.level.value.upper()} {type(note).__name__} [{note.subject}]: {note.summary}\n      {text}"


def beyond_the_linter(method: str, headers: list[tuple[str, str]], answer: Answer) -> list[str]:
    """Rules httplint 2026.10.4 does not check, each with its source."""
    problems: list[str] = []
    asked = {name.lower() for name, _ in headers}
    if (method == "OPTIONS" and "access-control-request-method" in asked
            and answer.header("Access-Control-Expose-Headers") is not None):
        problems.append("BAD Access-Control-Expose-Headers on a preflight answer: browsers read it from the actual "
                        "response only (Fetch, CORS protocol), so here it is noise at best")
    return problems


# --- the run ----------------------------------------------------------------------------------------

def fill(template: str, known: Mapping[str, str]) -> str:
    return template.format_map(known)


def fill_body(body: Any, known: Mapping[str, str]) -> bytes | None:
    if body is None:
        return None
    if isinstance(body, bytes):
        return body
    return json.dumps(fill_json(body, known)).encode()


def fill_json(value: Any, known: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: fill_json(v, known) for k, v in value.items()}
    if isinstance(value, str) and re.fullmatch(r"\{[a-z_0-9]+\}", value):
        return fill(value, known)  # only whole "{var}" strings: scene code has braces of its own
    return value


def remembered(answer: Answer, what: str) -> str | None:
    kind, _, key = what.partition(":")
    if kind == "header":
        return answer.header(key) or None
    value = json.loads(answer.body).get(key)
    return value if isinstance(value, str) and value else None


def run_table(port: int, exchanges: list[Exchange], accepted: Mapping[str, str] = ACCEPTED_EVERYWHERE) -> list[str]:
    """Every exchange in order, sent to 127.0.0.1:`port`; returns the problems (a wrong status, an
    unaccepted note), readable."""
    base = f"http://127.0.0.1:{port}"
    known: dict[str, str] = {name: str(uuid.uuid4()) for name in
                             ("scene", "scene2", "broken", "project", "big_project", "unknown",
                              *(f"big{i}" for i in range(3)))}
    problems: list[str] = []
    for ex in exchanges:
        try:
            target = fill(ex.path, known)
            body = fill_body(ex.body, known)
            headers = [("Host", f"127.0.0.1:{port}"), *UA.items(),
                       *((k, fill(v, known)) for k, v in ex.headers.items())]
        except KeyError as e:  # an earlier answer lacked what this row needs (already reported)
            problems.append(f"{ex.name}: not sent, it needs {e} from an earlier answer")
            continue
        if body is not None:
            headers += [("Content-Type", ex.content_type), ("Content-Length", str(len(body)))]
        started = time.time()
        answer = send(port, ex.method, target, headers, body)
        if answer.status != ex.status:
            problems.append(f"{ex.name}: {ex.method} {target} answered {answer.status}, expected {ex.status}: "
                            f"{answer.body[:300]!r}")
            continue
        for var, what in ex.remember.items():
            value = remembered(answer, what)
            if value is None:
                problems.append(f"{ex.name}: no {what} in the answer, which later rows need as {{{var}}}")
            else:
                known[var] = value
        accepted_here = {**accepted, **ex.accept}
        found = [(side, n) for side, n in lint(base, ex.method, target, headers, body, answer, started)
                 if n.level == levels.BAD or (n.level == levels.WARN and type(n).__name__ not in accepted_here)]
        readable = [f"  {side} {describe(n)}" for side, n in found]
        readable += [f"  response {text}" for text in beyond_the_linter(ex.method, headers, answer)]
        if readable:
            head = "\n    ".join(f"{k}: {v}" for k, v in answer.headers)
            problems.append(f"{ex.name}: {ex.method} {target} -> {answer.status}\n    {head}\n" + "\n".join(readable))
    return problems


@pytest.mark.parametrize("setup", ["wildcard CORS", "allow-list CORS, edge-purged pointers",
                                   "the same through Varnish"])
def test_every_route_passes_httplint(spawn_server: Callable[..., ServerProcess],
                                     varnish_factory: Callable[[int], Varnish], tmp_path: Path, setup: str) -> None:
    """Both CORS modes, and the pointers' edge headers (PROXY_EDGE_PURGE to a real Varnish running
    ops/varnish/default.vcl): as the origin answers, and as browsers behind that Varnish get them."""
    settings = {"database_url": f"sqlite:///{tmp_path}/p.sqlite3", "storage_url": f"file://{tmp_path}/artifacts",
                "project_max_scenes": "2"}
    if setup == "wildcard CORS":
        port = spawn_server(cors_origins="*", **settings).port
    else:
        origin_port = free_port()
        varnish = varnish_factory(origin_port)
        spawn_server(port=origin_port, cors_origins=ALLOWED, edge_purge=varnish.purge_url,
                     edge_purge_delay_seconds="0.1", edge_max_stale_seconds="60", **settings)
        port = varnish.port if "Varnish" in setup else origin_port
    problems = run_table(port, EXCHANGES, ACCEPTED_BEHIND_VARNISH if "Varnish" in setup else ACCEPTED_EVERYWHERE)
    assert not problems, f"{len(problems)} answers with problems:\n\n" + "\n\n".join(problems)
