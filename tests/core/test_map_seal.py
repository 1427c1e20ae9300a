"""The seal covers the module's sourceMappingURL comment, and a map carries a seal of its own that keeps it
valid JSON (a public bucket serves it as stored)."""

from __future__ import annotations

import json

import pytest

from core.artifact import map_name, seal, seal_map, unseal, unseal_map, with_map_comment, without_map_comment

CODE = b'const a = 1;\nexport { a as default };\n'
HASH = "0123456789abcdef"


def test_the_seal_covers_the_map_comment() -> None:
    sealed = seal(with_map_comment(CODE, HASH))
    assert unseal(sealed) == sealed
    lines = sealed.decode().splitlines()
    assert lines[-2] == f"//# sourceMappingURL={map_name(HASH)}" and lines[-1].startswith("//# artifact-sha256=")
    # a comment pointing at another map (another artifact's, or a foreign host) fails the seal
    for forged in (sealed.replace(HASH.encode(), b"fedcba9876543210"),
                   sealed.replace(b"sourceMappingURL=", b"sourceMappingURL=https://evil.example/")):
        assert forged != sealed and unseal(forged) is None
    # and dropping it does too
    assert unseal(sealed.replace(f"//# sourceMappingURL={map_name(HASH)}\n".encode(), b"")) is None


def test_without_map_comment_removes_only_that_line() -> None:
    assert without_map_comment(with_map_comment(CODE, HASH)) == CODE
    assert without_map_comment(CODE) == CODE


def test_a_sealed_map_is_json_and_any_change_fails_it() -> None:
    raw = json.dumps({"version": 3, "sources": ["scene/x.tsx"], "sourcesContent": ["a"], "names": [],
                      "mappings": "AAAA"}).encode()
    sealed = seal_map(raw)
    assert unseal_map(sealed) == sealed
    parsed = json.loads(sealed)
    assert parsed["mappings"] == "AAAA" and len(parsed["x_artifact_sha256"]) == 64
    assert unseal_map(sealed.replace(b"AAAA", b"AAAC")) is None
    assert unseal_map(sealed[:-5]) is None
    assert unseal_map(raw) is None
    with pytest.raises(ValueError):
        seal_map(b"[1, 2]")
