"""The proxy's real traffic shapes, as locust users. The runner (`python -m loadtest run`) seeds the
scenes and writes a plan (JSON, path in $LOADTEST_PLAN):

    {"scenes": [{"id": ..., "hash": ...}, ...],   # compiled, in popularity order (rank 1 first)
     "editor_scenes": [...ids], "fresh": [...ids],  # edited by editors / never compiled
     "projects": [...ids],                            # projects of 10 compiled scenes each
     "zipf_s": 1.0, "seed": 1, "token": "...", "sources": [...tsx templates]}

- PlayerUser: a viewer opening a scene by id, Zipf popularity: GET /api/components/{id} (302),
  then the artifact it points to, as a browser would (Accept-Encoding: gzip, br).
- CdnOriginUser: a CDN edge filling from the origin: GET /components/{hash}.js, half of them
  revalidating with If-None-Match (expects 304).
- EditorUser: saves one of its scenes (PUT, compile on write), then previews it.
- ProjectPlayerUser: a shared video player showing a whole project: GET /api/projects/{id}/components,
  the one module holding every scene of the project; like a browser, it keeps the module and its ETag
  and revalidates it on the next view (304 while no scene changed).
- FirstViewUser: the first view of a scene that was never compiled: lookup + compile + store +
  redirect, then the artifact.

Requests are grouped by route in the stats (`name=`), so per-route percentiles are comparable.
"""

from __future__ import annotations

import itertools
import json
import os
import random
from typing import Any

from locust import FastHttpUser, between, constant_pacing, events, task

from loadtest.routes import (
    ROUTE_ARTIFACT,
    ROUTE_EDITOR_VIEW,
    ROUTE_FIRST_VIEW,
    ROUTE_PROJECT,
    ROUTE_PROJECT_REVALIDATE,
    ROUTE_REVALIDATE,
    ROUTE_SAVE,
    ROUTE_SCENE,
)
from loadtest.zipf import Zipf

ACCEPT = {"Accept-Encoding": "gzip, br", "Origin": "https://app.example.com"}


class Plan:
    def __init__(self, data: dict[str, Any]) -> None:
        self.scenes: list[dict[str, str]] = data["scenes"]
        self.editor_scenes: list[str] = data.get("editor_scenes", [])
        self.fresh: list[str] = list(data.get("fresh", []))
        self.projects: list[str] = data.get("projects", [])
        self.token: str = data["token"]
        self.sources: list[str] = data.get("sources", [])
        seed = int(data.get("seed", 1))
        self.zipf = Zipf(self.scenes, float(data.get("zipf_s", 1.0)), seed=seed)
        self.rng = random.Random(seed + 1)
        self.edits = itertools.count()
        self.editor_cycle = itertools.cycle(self.editor_scenes) if self.editor_scenes else None
        self.fresh_exhausted = 0

    def next_fresh(self) -> str | None:
        if not self.fresh:
            self.fresh_exhausted += 1
            return None
        return self.fresh.pop()


_plan: Plan | None = None


def plan() -> Plan:
    global _plan
    if _plan is None:
        path = os.environ.get("LOADTEST_PLAN")
        if not path:
            raise RuntimeError("set LOADTEST_PLAN to the plan JSON the runner writes (python -m loadtest run)")
        with open(path) as f:
            _plan = Plan(json.load(f))
    return _plan


@events.quitting.add_listener
def _report_exhausted(environment: Any, **_kw: Any) -> None:
    if _plan is not None and _plan.fresh_exhausted:
        print(f"loadtest: first-view pool ran out {_plan.fresh_exhausted} times (seed more with --fresh)")


def _redirect_then_fetch(user: FastHttpUser, scene_id: str, name: str, *, path: str | None = None,
                         artifact_name: str = ROUTE_ARTIFACT) -> None:
    with user.client.get(path or f"/api/components/{scene_id}", name=name, headers=ACCEPT, allow_redirects=False,
                         catch_response=True) as r:
        location = r.headers.get("Location") if r.status_code == 302 else None
        if not location:
            r.failure(f"expected 302 with Location, got {r.status_code}")
            return
        errors = r.headers.get("X-Compilation-Error") or r.headers.get("X-Compilation-Errors")
        if errors:
            r.failure(f"compilation error: {errors}")
            return
        r.success()
    target = location.split("://", 1)[-1].split("/", 1)[-1]
    with user.client.get("/" + target, name=artifact_name, headers=ACCEPT, catch_response=True) as a:
        if a.status_code != 200 or not a.content:
            a.failure(f"artifact: {a.status_code}")
        else:
            a.success()


class PlayerUser(FastHttpUser):
    """A viewer: scenes by id with Zipf popularity (most views hit a few scenes)."""

    weight = 10
    wait_time = between(0.02, 0.1)

    @task
    def view_scene(self) -> None:
        _redirect_then_fetch(self, plan().zipf.sample()["id"], ROUTE_SCENE)


class CdnOriginUser(FastHttpUser):
    """A CDN edge filling its cache from the origin; half the fills revalidate with If-None-Match."""

    weight = 4
    wait_time = between(0.02, 0.1)

    @task
    def fetch_artifact(self) -> None:
        p = plan()
        scene = p.scenes[p.rng.randrange(len(p.scenes))]
        url = f"/components/{scene['hash']}.js"
        if p.rng.random() < 0.5:
            headers = {**ACCEPT, "If-None-Match": f'"{scene["hash"]}"'}
            with self.client.get(url, name=ROUTE_REVALIDATE, headers=headers, catch_response=True) as r:
                if r.status_code != 304:
                    r.failure(f"expected 304, got {r.status_code}")
                else:
                    r.success()
        else:
            with self.client.get(url, name=ROUTE_ARTIFACT, headers=ACCEPT, catch_response=True) as r:
                if r.status_code != 200 or r.headers.get("ETag") != f'"{scene["hash"]}"':
                    r.failure(f"expected 200 with the ETag, got {r.status_code}")
                else:
                    r.success()


class EditorUser(FastHttpUser):
    """An editor saving a scene (compile on write) and previewing the result."""

    weight = 1
    wait_time = constant_pacing(1.0)

    @task
    def save_scene(self) -> None:
        p = plan()
        if p.editor_cycle is None or not p.sources:
            return
        scene_id = next(p.editor_cycle)
        n = next(p.edits)
        code = f"{p.sources[n % len(p.sources)]}\n// edit {os.getpid()} {n}\n"
        headers = {"Authorization": f"Bearer {p.token}", "Content-Type": "application/json"}
        with self.client.put(f"/api/scenes/{scene_id}", name=ROUTE_SAVE, data=json.dumps({"tsxCode": code}),
                             headers=headers, catch_response=True) as r:
            try:
                status = r.json().get("status") if r.status_code == 200 else None
            except ValueError:
                status = None
            if status != "ready":
                r.failure(f"save: {r.status_code} status={status}")
                return
            r.success()
        _redirect_then_fetch(self, scene_id, ROUTE_EDITOR_VIEW)


class ProjectPlayerUser(FastHttpUser):
    """A shared video player: every scene of a project in one import, projects chosen uniformly.
    Like a browser's HTTP cache it keeps each module's ETag and revalidates on the next view."""

    weight = 2
    wait_time = between(0.02, 0.1)

    def on_start(self) -> None:
        self.etags: dict[str, str] = {}

    @task
    def view_project(self) -> None:
        p = plan()
        if not p.projects:
            return
        project_id = p.projects[p.rng.randrange(len(p.projects))]
        etag = self.etags.get(project_id)
        headers = {**ACCEPT, "If-None-Match": etag} if etag else ACCEPT
        with self.client.get(f"/api/projects/{project_id}/components", headers=headers, catch_response=True,
                             name=ROUTE_PROJECT_REVALIDATE if etag else ROUTE_PROJECT) as r:
            errors = r.headers.get("X-Compilation-Errors")
            if errors:
                r.failure(f"compilation errors: {errors}")
            elif r.status_code == 304 and etag:
                r.success()
            elif r.status_code == 200 and r.content and r.headers.get("ETag"):
                self.etags[project_id] = r.headers["ETag"]
                r.success()
            else:
                r.failure(f"project module: {r.status_code}")


class FirstViewUser(FastHttpUser):
    """The first view of a scene nobody compiled yet (created by the product, not through the API)."""

    weight = 1
    wait_time = constant_pacing(1.0)

    @task
    def first_view(self) -> None:
        scene_id = plan().next_fresh()
        if scene_id is not None:
            _redirect_then_fetch(self, scene_id, ROUTE_FIRST_VIEW)
