"""The Zipf sampler the locust players draw scenes with."""

from __future__ import annotations

from collections import Counter

import pytest

from loadtest.zipf import Zipf


def test_probabilities_follow_one_over_k_to_the_s() -> None:
    z = Zipf(list(range(100)), s=1.0)
    assert sum(z.probability(k) for k in range(1, 101)) == pytest.approx(1.0)
    assert z.probability(1) / z.probability(10) == pytest.approx(10.0)
    assert z.head_share(100) == pytest.approx(1.0)
    assert z.head_share(0) == 0.0
    assert z.head_share(10) == pytest.approx(sum(z.probability(k) for k in range(1, 11)))


def test_samples_match_the_distribution_and_most_views_hit_few_items() -> None:
    z = Zipf([f"scene-{i}" for i in range(50)], s=1.1, seed=7)
    draws = 40_000
    counts = Counter(z.sample() for _ in range(draws))
    for rank in (1, 2, 5, 20):
        expected = z.probability(rank) * draws
        assert abs(counts[f"scene-{rank - 1}"] - expected) < 5 * expected**0.5 + 5
    top5 = sum(counts[f"scene-{i}"] for i in range(5))
    assert top5 / draws == pytest.approx(z.head_share(5), abs=0.02)
    assert z.head_share(5) > 0.5  # most views hit few scenes


def test_seeded_sampler_is_deterministic_and_bounded() -> None:
    a = Zipf(list(range(1000)), s=1.0, seed=3)
    b = Zipf(list(range(1000)), s=1.0, seed=3)
    seq = [a.rank() for _ in range(500)]
    assert seq == [b.rank() for _ in range(500)]
    assert all(1 <= r <= 1000 for r in seq)


def test_zero_exponent_is_uniform_and_bad_input_is_refused() -> None:
    z = Zipf(["a", "b", "c", "d"], s=0.0)
    assert [z.probability(k) for k in range(1, 5)] == pytest.approx([0.25] * 4)
    with pytest.raises(ValueError):
        Zipf([], s=1.0)
    with pytest.raises(ValueError):
        Zipf([1], s=-1.0)
    with pytest.raises(IndexError):
        z.probability(5)
