# One command to run, one to test. Everything the project needs is installed from here.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
DEVSTAMP:= $(VENV)/.installed-dev
NPMSTAMP:= node_modules/.installed
RUNTIME := build/runtime/manifest.json
CLIENT  := build/client/manifest.json
CLIENTNPM := client/node_modules/.installed

# promtool lands in .tools/bin (scripts/ensure-services.sh); hadolint comes with the venv
export PATH := $(CURDIR)/.tools/bin:$(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: install install-dev run test test-fast lint bench loadtest soak clean services

## install: what serving needs (runtime Python packages, npm packages, the browser runtime, the scene client)
install: $(STAMP) $(NPMSTAMP) $(RUNTIME) $(CLIENT)

## install-dev: install + the development tools (pytest, locust, moto, ruff, playwright, ...)
install-dev: install $(DEVSTAMP) $(CLIENTNPM)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

$(DEVSTAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

$(NPMSTAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(RUNTIME): $(NPMSTAMP) $(shell find runtime client/src/positions.js -type f 2>/dev/null)
	node runtime/build.mjs

# the scene client (client/): served at /runtime/scene-client.js, built with the root's esbuild
$(CLIENT): $(NPMSTAMP) $(shell find client/src client/build.mjs -type f 2>/dev/null)
	node client/build.mjs

# the client's dev dependencies (install-dev): real React 18 and 19 + Remotion for its browser tests, tsc
$(CLIENTNPM): client/package.json client/package-lock.json
	cd client && npm ci --no-audit --no-fund --loglevel=error
	touch $@

## run: install, then serve on the embedded defaults (SQLite + ./data + in-process cache) at :8080
run: install
	$(BIN)/artifact-proxy serve

## services: start PostgreSQL and Redis when they are not running (installs them when missing)
services:
	bash scripts/ensure-services.sh

## test: install, start services, lint, the whole suite (what CI runs).
## The browser suites run in their own process: sync Playwright keeps an event loop running in the
## main thread, which the asyncio tests cannot share.
test: install-dev services lint
	node --test client/test/*.test.js
	$(BIN)/pytest -q -p no:cacheprovider -m "not browser"
	$(BIN)/pytest -q -p no:cacheprovider -m browser

lint: $(DEVSTAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/bandit -q -c pyproject.toml -r core proxy cache config

bench: install-dev services
	# wrk drives the load; nginx serves the same file as the static baseline (either may be missing)
	(command -v wrk && { command -v nginx || test -x /usr/sbin/nginx; }) >/dev/null || \
	  (apt-get update -qq && apt-get install -y -qq wrk nginx-light)
	$(BIN)/python -m loadtest.bench_compile
	$(BIN)/python -m loadtest.bench_http
	$(BIN)/python -m loadtest.bench_edge

loadtest: install-dev services
	$(BIN)/python -m loadtest run

soak: install-dev services
	$(BIN)/python -m loadtest soak

clean:
	rm -rf $(VENV) node_modules build data
