from __future__ import annotations

import pytest

from core.artifact import seal, unseal
from proxy.flags import is_enabled, user_bucket
from proxy.http import choose_encoding, etag_matches


@pytest.mark.parametrize(("header", "expected"), [
    (None, "identity"), ("", "identity"), ("gzip", "gzip"), ("gzip, deflate, br", "br"),
    ("br;q=0, gzip", "gzip"), ("gzip;q=0.2, br;q=0.1", "gzip"), ("*", "br"), ("identity", "identity"),
    ("gzip;q=0", "identity"), ("garbage;;;", "identity"),
])
def test_encoding_negotiation_honours_q_values(header: str | None, expected: str) -> None:
    assert choose_encoding(header) == expected


def test_if_none_match_uses_weak_comparison_and_lists() -> None:
    assert etag_matches('"abc"', '"abc"')
    assert etag_matches('W/"abc"', '"abc"')
    assert etag_matches('"x", "abc"', '"abc"')
    assert etag_matches("*", '"abc"')
    assert not etag_matches('"abcd"', '"abc"')
    assert not etag_matches(None, '"abc"')


def test_a_sealed_artifact_verifies_and_any_change_is_detected() -> None:
    sealed = seal(b"export default 1;")
    assert unseal(sealed) == sealed
    assert unseal(sealed.replace(b"1", b"2", 1)) is None
    assert unseal(sealed[:-5]) is None
    assert unseal(b"export default 1;\n") is None


def test_rollout_is_deterministic_and_monotonic_in_the_percentage() -> None:
    users = [f"user-{i}" for i in range(2000)]
    at10 = {u for u in users if is_enabled("server-compilation", u, 10)}
    at50 = {u for u in users if is_enabled("server-compilation", u, 50)}
    assert at10 <= at50  # nobody in at 10% drops out at 50%
    assert 140 <= len(at10) <= 260 and 900 <= len(at50) <= 1100
    assert user_bucket("server-compilation", "u1") == user_bucket("server-compilation", "u1")
    assert not is_enabled("f", "u", 0) and is_enabled("f", "u", 100)
    assert not is_enabled("f", None, 50)
