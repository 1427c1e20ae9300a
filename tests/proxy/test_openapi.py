"""openapi.yaml is the HTTP API: the router and the document list the same routes, and requests
generated from the document (valid and hostile) never get a 5xx or an answer the document does not
describe. Hypothesis drives the requests; a real server process answers them."""

from __future__ import annotations

import gzip
import http.client
import json
import re
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import brotli
import orjson
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec

from config import Settings
from proxy.app import create_app
from proxy.edge import FALLBACK
from tests.fixtures_faults import AUTH, scene
from tests.fixtures_server import ServerProcess, free_port, server_env

pytestmark = pytest.mark.reliability

ROOT = Path(__file__).resolve().parents[2]
DOC: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text())
METHODS = ("get", "head", "post", "put", "delete", "patch")


def normalized(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_the_document_is_valid_openapi() -> None:
    validate_spec(DOC)


def test_every_route_is_documented_and_every_documented_route_exists(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/x.sqlite3", storage_url=f"file://{tmp_path}/a"))
    routed = {(r.method.lower(), normalized(r.resource.canonical)) for r in app.router.routes()
              if r.resource is not None and r.resource.name != FALLBACK}  # the catch-all 404/405/preflight
    documented = {(m, normalized(p)) for p, item in DOC["paths"].items() for m in METHODS if m in item}
    assert routed - documented == set(), "routes missing from openapi.yaml"
    assert documented - routed == set(), "openapi.yaml documents routes the server does not have"


# --- fuzzing -----------------------------------------------------------------------------------------

BROKEN = "export default function X() { return <div>; }\n"
HOSTILE_SEGMENTS = [
    "..%2f..%2fetc%2fpasswd", "..%2F..%2F", "%2e%2e", "..", ".", "%00", "a%00b", "%ff%fe", "%c0%af",
    "x" * 5000, "%E2%80%AE", quote("ü" * 40, safe=""), "%25", "%", "a%2fb", "ab" * 8 + "%00.js",
    "0123456789abcdef.js%00", "0123456789ABCDEF.js", "../0123456789abcdef.js",
]


class Api(dict[str, Any]):
    def __repr__(self) -> str:  # hypothesis prints it with every failing example: keep it short
        return f"Api(port={self['server'].port})"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    directory = tmp_path_factory.mktemp("openapi")
    server = ServerProcess(free_port(), server_env(database_url=f"sqlite:///{directory}/proxy.sqlite3",
                                                   storage_url=f"file://{directory}/artifacts"),
                           1, directory / "server.log").start()
    try:
        known = Api(server=server)
        project = str(uuid.uuid4())  # one project holding both scenes: a good one and a broken one
        status, _, body = call(server, "POST", "/api/scenes", {**AUTH, "Content-Type": "application/json"},
                               orjson.dumps({"tsxCode": scene(), "projectId": project}))
        assert status == 201
        good = orjson.loads(body)
        status, _, body = call(server, "POST", "/api/scenes", {**AUTH, "Content-Type": "application/json"},
                               orjson.dumps({"tsxCode": BROKEN, "projectId": project}))
        assert status == 201
        known["scene_ids"] = [good["id"], orjson.loads(body)["id"]]
        known["project_ids"] = [project]
        known["files"] = [f"{good['compiledHash']}.js", f"{good['compiledHash']}.js.map"]
        status, headers, _ = call(server, "GET", f"/api/projects/{project}/components", {})
        assert status == 200
        known["hashes"] = [headers["x-artifact-hash"], good["compiledHash"]]  # the project's map, a scene's
        yield known
    finally:
        server.stop(signal.SIGTERM)


def call(server: ServerProcess, method: str, target: str, headers: dict[str, str],
         body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value.encode("latin-1", "replace"))
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def segment(known: list[str], valid: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(known), valid, st.sampled_from(HOSTILE_SEGMENTS),
                     st.text(max_size=60).map(lambda t: quote(t, safe="")).filter(bool))


def json_values() -> st.SearchStrategy[Any]:
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False),
                        st.text(max_size=50))
    return st.recursive(scalars, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                        st.dictionaries(st.text(max_size=10), kids, max_size=4)),
                        max_leaves=12)


def dump(value: Any) -> bytes:
    return json.dumps(value).encode()  # not orjson: integers past 64 bits are part of the abuse


def body_for(schema_name: str) -> st.SearchStrategy[bytes]:
    code = st.one_of(st.sampled_from([scene("fuzz"), BROKEN, " ", "", "export default 1;",
                                      "import x from '../../etc/passwd'; export default x;"]),
                     st.text(max_size=200))
    maybe_id = st.one_of(st.uuids().map(str), st.text(max_size=40), st.integers())
    fields: dict[str, st.SearchStrategy[Any]] = {
        "SceneCreate": st.fixed_dictionaries({"tsxCode": code}, optional={
            "id": maybe_id, "name": st.one_of(st.text(max_size=30), st.integers()), "projectId": maybe_id}),
        "SceneUpdate": st.fixed_dictionaries({"tsxCode": code}, optional={"name": st.text(max_size=30)}),
        "CompileRequest": st.fixed_dictionaries({"tsxCode": code}),
        "FlagUpdate": st.fixed_dictionaries({"rolloutPercentage": st.one_of(
            st.integers(-5, 105), st.floats(allow_nan=False), st.booleans(), st.text(max_size=5))}),
    }
    documented = fields[schema_name].map(dump)
    return st.one_of(documented, documented, json_values().map(dump), st.binary(max_size=100),
                     st.just(b"{" * 5000), st.just(b'{"tsxCode": "\xff\xfe"}'))


def operations() -> list[tuple[str, str]]:
    return [(path, m) for path, item in DOC["paths"].items() for m in METHODS if m in item]


def unrouted(status: int, headers: dict[str, str], body: bytes) -> bool:
    """A target that is not this operation's path at all once decoded (`a%2fb` is two segments): the
    router's 404, or the HTTP parser's 400 for a request line it refuses. Both are the caller's fault."""
    if status == 400 and not headers.get("content-type", "").startswith("application/json"):
        return True
    return status == 404 and b'"no such route"' in body  # proxy/edge.py's catch-all


def check_response(path: str, method: str, status: int, headers: dict[str, str], body: bytes) -> None:
    assert status < 500, (method, path, status, body[:300])
    if unrouted(status, headers, body):
        return
    responses = DOC["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path} answered an undocumented {status}: {body[:300]!r}"
    spec = responses[str(status)]
    if "$ref" in spec:
        spec = DOC["components"]["responses"][spec["$ref"].rsplit("/", 1)[1]]
    content = spec.get("content")
    if method == "head" or not content:
        return
    ctype = headers.get("content-type", "").split(";")[0].strip()
    assert ctype in content, (method, path, status, ctype, list(content))
    # a JSON body may come compressed too (a source map is served like its module)
    coding = headers.get("content-encoding", "identity")
    body = gzip.decompress(body) if coding == "gzip" else brotli.decompress(body) if coding == "br" else body
    schema = content[ctype].get("schema")
    if ctype == "application/json" and schema:
        validator = Draft202012Validator({**schema, "components": DOC["components"]},
                                         format_checker=Draft202012Validator.FORMAT_CHECKER)
        errors = [e.message for e in validator.iter_errors(orjson.loads(body))]
        assert not errors, (method, path, status, errors, body[:300])


VALID = {
    "sceneId": st.uuids().map(str),
    "projectId": st.uuids().map(str),
    "file": st.from_regex(r"[0-9a-f]{16}\.js(?:\.map)?", fullmatch=True),
    "hash": st.from_regex(r"[0-9a-f]{16}", fullmatch=True),
    "name": st.from_regex(r"[a-z0-9][a-z0-9._-]{0,20}", fullmatch=True),
}


@pytest.mark.parametrize(("path", "method"), operations(), ids=[f"{m.upper()} {p}" for p, m in operations()])
@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_generated_requests_get_documented_answers_and_never_a_5xx(
        api: dict[str, Any], path: str, method: str, data: st.DataObject) -> None:
    operation = DOC["paths"][path][method]
    target = path
    for name in re.findall(r"\{([^}]+)\}", path):
        known = {"sceneId": api["scene_ids"], "projectId": api["project_ids"],
                 "file": api["files"], "hash": api["hashes"]}.get(name, ["rollout"])
        target = target.replace("{" + name + "}", data.draw(segment(known, VALID[name]), label=name))
    query: dict[str, str] = {}
    for param in operation.get("parameters", []):
        if param.get("in") == "query" and data.draw(st.booleans(), label=f"has {param['name']}"):
            query[param["name"]] = data.draw(st.one_of(st.text(max_size=300), st.from_regex(r"[0-9]{1,9}",
                                                                                             fullmatch=True)))
    if query:
        target += "?" + urlencode(query)
    headers = {"Accept-Encoding": data.draw(st.sampled_from(["", "gzip", "br;q=0.5, gzip", "*;q=0", "x;q=abc"])),
               "If-None-Match": data.draw(st.sampled_from(["", "*", '"0123456789abcdef"', "W/garbage, ,"]))}
    headers = {k: v for k, v in headers.items() if v}
    body = None
    if "requestBody" in operation:
        schema_name = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        body = data.draw(body_for(schema_name), label="body")
        headers["Content-Type"] = data.draw(st.sampled_from(
            ["application/json"] * 4 + ["text/plain", "application/x-www-form-urlencoded", "application/ld+json"]))
        auth = data.draw(st.sampled_from([AUTH["Authorization"]] * 4 + ["", "Bearer wrong", "Basic dGVzdA==",
                                                                        "Bearer " + "x" * 3000]))
        if auth:
            headers["Authorization"] = auth
    status, response_headers, response_body = call(api["server"], method.upper(), target, headers, body)
    if method == "head" and status == 404:  # no body to tell the router's 404 apart: ask the same with GET
        status, response_headers, response_body = call(api["server"], "GET", target, headers, body)
        method = "get"
    check_response(path, method, status, response_headers, response_body)


def test_any_scene_id_is_a_valid_uuid_or_a_400_never_a_lookup(api: dict[str, Any]) -> None:
    status, _, _ = call(api["server"], "GET", f"/api/components/{uuid.uuid4()}", {})
    assert status == 404
