"""Request names the locust users report under (one per route and situation). Kept apart from the
locustfile so the runner and the tests can use them without importing locust (which monkey-patches
the standard library with gevent on import)."""

ROUTE_SCENE = "GET /api/components/[id]"
ROUTE_ARTIFACT = "GET /components/[hash].js"
ROUTE_REVALIDATE = "GET /components/[hash].js (If-None-Match)"
ROUTE_SAVE = "PUT /api/scenes/[id]"
ROUTE_FIRST_VIEW = "GET /api/components/[id] (never compiled)"
ROUTE_EDITOR_VIEW = "GET /api/components/[id] (after save)"
ROUTE_PROJECT = "GET /api/projects/[id]/components"
ROUTE_PROJECT_REVALIDATE = "GET /api/projects/[id]/components (If-None-Match)"
