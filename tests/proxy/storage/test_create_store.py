"""create_store: the backend and its location come from Settings.storage_url."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import Settings
from proxy.storage import LocalStore, S3Store, create_store, local_path_from_url


async def test_default_file_url_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = create_store(Settings(storage_url="file://./data/artifacts"))
    assert isinstance(store, LocalStore)
    assert store.directory == tmp_path / "data" / "artifacts"
    assert store.directory.is_dir()
    assert store.describe() == f"file:{tmp_path}/data/artifacts"
    await store.close()


async def test_absolute_file_url_is_used_as_is(tmp_path: Path) -> None:
    store = create_store(Settings(storage_url=f"file://{tmp_path}/abs"))
    assert isinstance(store, LocalStore)
    assert store.directory == tmp_path / "abs"
    await store.close()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("file://./data/artifacts", "data/artifacts"),
        ("file://data/artifacts", "data/artifacts"),
        ("file:data/artifacts", "data/artifacts"),
        ("file:///srv/artifacts", "/srv/artifacts"),
        ("file://localhost/srv/artifacts", "/srv/artifacts"),
        ("file:///srv/with%20space", "/srv/with space"),
    ],
)
def test_file_url_forms(url: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    want = Path(expected) if expected.startswith("/") else tmp_path / expected
    assert local_path_from_url(url) == want


async def test_s3_url_gives_bucket_prefix_and_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    settings = Settings(
        storage_url="s3://bazaar-components/components",
        s3_endpoint_url="https://acct.r2.cloudflarestorage.com",
        storage_timeout_seconds=2.5,
        storage_threads=4,
    )
    store = create_store(settings)
    assert isinstance(store, S3Store)
    assert (store.bucket, store.prefix) == ("bazaar-components", "components")
    assert store.endpoint_url == "https://acct.r2.cloudflarestorage.com"
    assert store.region == "eu-west-3"
    assert store.key("0123456789abcdef") == "components/0123456789abcdef.js"
    assert store.describe() == "s3://bazaar-components/components at https://acct.r2.cloudflarestorage.com"
    await store.close()


async def test_s3_region_defaults_to_auto_for_a_custom_endpoint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with_endpoint = create_store(Settings(storage_url="s3://b/p", s3_endpoint_url="http://127.0.0.1:9"))
    aws = create_store(Settings(storage_url="s3://b/p"))
    assert isinstance(with_endpoint, S3Store) and isinstance(aws, S3Store)
    assert with_endpoint.region == "auto"
    assert aws.region == "us-east-1"
    await with_endpoint.close()
    await aws.close()
