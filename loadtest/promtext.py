"""Reading the proxy's /metrics (Prometheus text format) for the load-test verdicts.

The cache hit ratio is computed as `1 - L1 misses / requests on the route` for each kind:
- mapping:  misses = artifact_proxy_cache_lookups_total{tier="l1",kind="mapping",result="miss"},
            requests = artifact_proxy_request_duration_seconds_count{route="/api/components/{scene_id}"}
- artifact: misses = artifact_proxy_cache_lookups_total{tier="l1",kind="artifact",result="miss"},
            requests = artifact_proxy_request_duration_seconds_count{route="/components/{name}"}
Requests are the denominator (not hits + misses) because the hot paths answer an L1 hit without
touching the lookup counter (proxy/routes/artifacts.py `tiers.peek`, proxy/routes/components.py
`mappings.get`): only misses are counted there, so hits/(hits+misses) would read ~0.
"""

from __future__ import annotations

import math
import re
import urllib.request
from collections import defaultdict
from dataclasses import dataclass

_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')

LabelSet = frozenset[tuple[str, str]]

ARTIFACT_ROUTE = "/components/{name}"
SCENE_ROUTE = "/api/components/{scene_id}"


def _unescape(value: str) -> str:
    return value.replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


def parse(text: str) -> list[Sample]:
    """Every sample line of a text exposition; comments, blank and unparseable lines are skipped."""
    out: list[Sample] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _LINE.match(line)
        if m is None:
            continue
        name, labels, value = m.groups()
        try:
            number = float(value)
        except ValueError:
            continue
        out.append(Sample(name, {k: _unescape(v) for k, v in _LABEL.findall(labels or "")}, number))
    return out


class Metrics:
    """A snapshot of /metrics with sums over label subsets; subtract two for a window's deltas."""

    def __init__(self, samples: list[Sample]) -> None:
        self._series: dict[str, dict[LabelSet, float]] = defaultdict(dict)
        for s in samples:
            key = frozenset(s.labels.items())
            series = self._series[s.name]
            series[key] = series.get(key, 0.0) + s.value

    @classmethod
    def from_text(cls, text: str) -> Metrics:
        return cls(parse(text))

    @classmethod
    def fetch(cls, base_url: str, timeout: float = 5.0) -> Metrics:
        with urllib.request.urlopen(base_url.rstrip("/") + "/metrics", timeout=timeout) as r:
            return cls.from_text(r.read().decode("utf-8", "replace"))

    def total(self, name: str, **labels: str) -> float:
        """Sum of every series of `name` whose labels include `labels`."""
        want = set(labels.items())
        return sum(v for k, v in self._series.get(name, {}).items() if want <= k)

    def __sub__(self, earlier: Metrics) -> Metrics:
        diff = Metrics([])
        for name, series in self._series.items():
            before = earlier._series.get(name, {})
            diff._series[name] = {k: v - before.get(k, 0.0) for k, v in series.items()}
        return diff


@dataclass(frozen=True)
class HitRatio:
    kind: str
    requests: float
    misses: float
    counted_hits: float  # hits the lookup counter saw (the hot path does not count its own)

    @property
    def ratio(self) -> float:
        if self.requests <= 0:
            return math.nan
        return max(0.0, 1.0 - self.misses / self.requests)


def hit_ratios(window: Metrics) -> dict[str, HitRatio]:
    """L1 hit ratios per kind over a window (a difference of two snapshots), plus 'all'."""
    lookups = "artifact_proxy_cache_lookups_total"
    requests = "artifact_proxy_request_duration_seconds_count"
    out: dict[str, HitRatio] = {}
    for kind, route in (("mapping", SCENE_ROUTE), ("artifact", ARTIFACT_ROUTE)):
        out[kind] = HitRatio(kind, window.total(requests, route=route),
                             window.total(lookups, tier="l1", kind=kind, result="miss"),
                             window.total(lookups, tier="l1", kind=kind, result="hit"))
    out["all"] = HitRatio("all", out["mapping"].requests + out["artifact"].requests,
                          out["mapping"].misses + out["artifact"].misses,
                          out["mapping"].counted_hits + out["artifact"].counted_hits)
    return out
