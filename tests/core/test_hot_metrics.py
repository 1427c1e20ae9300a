"""The hot path's buffered metrics end up exactly where Histogram.observe / Counter.inc would put them."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from core.metrics import Tally, Timings

SAMPLES = [0.0001, 0.0005, 0.0005, 0.003, 0.01, 0.2, 7.5, 0.0, 1e9]


def test_buffered_timings_flush_to_the_same_histogram_as_direct_observes() -> None:
    direct, buffered = CollectorRegistry(), CollectorRegistry()
    buckets = (0.0005, 0.001, 0.01, 0.25, 2.5)
    h1 = Histogram("t_seconds", "t", ["route"], buckets=buckets, registry=direct).labels("r")
    h2 = Histogram("t_seconds", "t", ["route"], buckets=buckets, registry=buffered).labels("r")
    timings = Timings(h2)
    for value in SAMPLES:
        h1.observe(value)
        timings.observe(value)
    assert generate_latest(buffered) != generate_latest(direct)  # nothing reported before a flush
    timings.flush()
    timings.flush()  # a second flush adds nothing
    strip = lambda text: b"\n".join(line for line in text.splitlines() if b"_created" not in line)  # noqa: E731
    assert strip(generate_latest(buffered)) == strip(generate_latest(direct))


def test_tallies_add_up_exactly_on_flush() -> None:
    registry = CollectorRegistry()
    counter = Counter("c", "c", ["k"], registry=registry).labels("x")
    tally = Tally(counter)
    for _ in range(1000):
        tally.inc()
    tally.inc(24)
    assert counter._value.get() == 0
    tally.flush()
    assert counter._value.get() == 1024
