"""Parsing what the load test reads: /metrics text, locust CSV stats, wrk output."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from loadtest.bench_http import parse_wrk
from loadtest.promtext import Metrics, hit_ratios, parse
from loadtest.runner import read_stats

BEFORE = """# HELP artifact_proxy_cache_lookups_total Cache lookups
# TYPE artifact_proxy_cache_lookups_total counter
artifact_proxy_cache_lookups_total{kind="mapping",result="miss",tier="l1"} 10.0
artifact_proxy_cache_lookups_total{kind="artifact",result="miss",tier="l1"} 4.0
artifact_proxy_cache_lookups_total{kind="artifact",result="hit",tier="storage"} 4.0
artifact_proxy_cache_lookups_created{kind="mapping",result="miss",tier="l1"} 1.7e+09
artifact_proxy_request_duration_seconds_count{route="/api/components/{scene_id}",status="302"} 100.0
artifact_proxy_request_duration_seconds_count{route="/components/{name}",status="200"} 80.0
artifact_proxy_request_duration_seconds_count{route="/components/{name}",status="304"} 20.0
artifact_proxy_request_duration_seconds_bucket{le="0.005",route="/components/{name}",status="200"} 70.0
"""

AFTER = BEFORE.replace('result="miss",tier="l1"} 10.0', 'result="miss",tier="l1"} 15.0') \
    .replace('status="302"} 100.0', 'status="302"} 1100.0') \
    .replace('kind="artifact",result="miss",tier="l1"} 4.0', 'kind="artifact",result="miss",tier="l1"} 6.0') \
    .replace('status="200"} 80.0', 'status="200"} 880.0') \
    .replace('status="304"} 20.0', 'status="304"} 220.0')


def test_parse_reads_labels_values_and_skips_comments() -> None:
    samples = parse(BEFORE + '\nweird{a="x\\"y",b="1"} 2.5 1700000000\nnot a metric line\n')
    names = {s.name for s in samples}
    assert "artifact_proxy_cache_lookups_total" in names and "# HELP" not in names
    weird = next(s for s in samples if s.name == "weird")
    assert weird.labels == {"a": 'x"y', "b": "1"} and weird.value == 2.5


def test_totals_sum_over_label_subsets() -> None:
    m = Metrics.from_text(BEFORE)
    assert m.total("artifact_proxy_request_duration_seconds_count", route="/components/{name}") == 100
    assert m.total("artifact_proxy_cache_lookups_total", tier="l1") == 14
    assert m.total("missing_metric") == 0


def test_hit_ratio_over_a_window_uses_requests_as_the_denominator() -> None:
    window = Metrics.from_text(AFTER) - Metrics.from_text(BEFORE)
    ratios = hit_ratios(window)
    assert ratios["mapping"].requests == 1000 and ratios["mapping"].misses == 5
    assert ratios["mapping"].ratio == pytest.approx(0.995)
    assert ratios["artifact"].requests == 1000 and ratios["artifact"].misses == 2
    assert ratios["all"].ratio == pytest.approx(1 - 7 / 2000)


def test_hit_ratio_without_requests_is_nan() -> None:
    empty = Metrics.from_text(BEFORE) - Metrics.from_text(BEFORE)
    assert math.isnan(hit_ratios(empty)["all"].ratio)


def test_locust_stats_csv_rows_per_route(tmp_path: Path) -> None:
    path = tmp_path / "x_stats.csv"
    header = ("Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
              "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,"
              "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%")
    path.write_text(header + "\n"
                    "GET,GET /components/[hash].js,120,0,2,3.1,1,40,4500,60.5,0,2,3,3,4,6,9,12,15,30,40,40\n"
                    "PUT,PUT /api/scenes/[id],3,1,80,90,70,120,900,0.5,0.1,80,N/A,N/A,N/A,N/A,120,N/A,120,120,120,120\n"
                    ",Aggregated,123,1,2,3,1,120,4400,61,0.1,2,3,3,4,6,9,12,15,30,40,120\n")
    rows = read_stats(path)
    assert [r.name for r in rows] == ["GET /components/[hash].js", "PUT /api/scenes/[id]"]
    assert rows[0].requests == 120 and rows[0].p95 == 9 and rows[0].p99 == 15 and rows[0].rps == 60.5
    assert rows[1].failures == 1 and rows[1].p99 == 120


def test_wrk_output() -> None:
    out = """Running 8s test @ http://127.0.0.1:1/components/abc.js
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.10ms    1.20ms  40.00ms   90.00%
  Latency Distribution
     50%  850.00us
     75%    2.10ms
     90%    4.00ms
     99%    1.20s
  120000 requests in 8.00s, 600.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  15000.25
Transfer/sec:     75.00MB
"""
    r = parse_wrk(out)
    assert r.rps == pytest.approx(15000.25) and r.requests == 120000
    assert r.p50 == pytest.approx(0.85) and r.p90 == 4.0 and r.p99 == 1200.0
    assert r.errors == 7
