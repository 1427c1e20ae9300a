# syntax=docker/dockerfile:1
# artifact-proxy: build the JS side with Node 20, install the Python package, ship a slim runtime.
#   docker build -t artifact-proxy .
#   docker run -p 8080:8080 -e PROXY_DATABASE_URL=postgresql://... -e PROXY_STORAGE_URL=s3://... artifact-proxy
# Configuration is by environment only (PROXY_*; S3 credentials the standard AWS_* way).

# --- 1. Node: compiler dependencies, the browser host runtime bundle, the scene client ---------------
FROM node:20-bookworm-slim AS node-build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
# the scene client's sources first: the runtime's /preview bundles its error-position lookup
COPY client/build.mjs client/package.json client/
COPY client/src/ client/src/
COPY runtime/ runtime/
# the host runtime, then the scene client served at /runtime/scene-client.js (both built with the
# esbuild installed above)
RUN node runtime/build.mjs && node client/build.mjs

# --- 2. Python: the package and its dependencies in a virtualenv -----------------------------------
FROM python:3.11-slim-bookworm AS python-build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
WORKDIR /app
COPY pyproject.toml README.md ./
COPY config/ config/
COPY core/ core/
COPY cache/ cache/
COPY proxy/ proxy/
# Editable on purpose: the Node worker resolves esbuild and @babel/parser from /app/node_modules
# (next to proxy/compiler/js), and the preview runtime is read from /app/build/runtime.
RUN pip install -e .

# --- 3. Runtime ---------------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app
# node itself (same Debian release as this image, so its glibc/libstdc++ match)
COPY --from=node-build /usr/local/bin/node /usr/local/bin/node
COPY --from=python-build /opt/venv /opt/venv
WORKDIR /app
COPY --from=python-build /app /app
# only what the compiler loads at run time: esbuild (+ its platform binary), @babel/parser (+ deps) and
# @jridgewell/sourcemap-codec (the source maps)
COPY --from=node-build /app/node_modules/esbuild node_modules/esbuild
COPY --from=node-build /app/node_modules/@esbuild node_modules/@esbuild
COPY --from=node-build /app/node_modules/@babel node_modules/@babel
COPY --from=node-build /app/node_modules/@jridgewell/sourcemap-codec node_modules/@jridgewell/sourcemap-codec
COPY --from=node-build /app/build/runtime build/runtime
COPY --from=node-build /app/build/client build/client
COPY package.json ./
# the embedded defaults keep SQLite and artifacts under ./data: the only path the app writes
RUN mkdir -p /app/data && chown app:app /app/data
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PROXY_PORT', '8080'), timeout=2)"]
CMD ["artifact-proxy", "serve", "--host", "0.0.0.0"]
