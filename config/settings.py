"""Settings as data: one typed object built from the environment (+ an optional TOML file).

Every other module receives a `Settings`; nothing else reads the environment.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

KIB = 1024
MIB = 1024 * KIB
MIN_ADMIN_TOKEN_CHARS = 16

# The product's names for the scene columns the proxy reads (its ORM quotes camelCase names).
# PROXY_SCENE_COLUMNS='{"tsx_code": "code"}' maps any of them; this is the only place they are named.
SCENE_COLUMN_DEFAULTS: dict[str, str] = {
    "tsx_code": "tsxCode",
    "project_id": "projectId",
    "order": "order",
    "name": "name",
    "duration": "duration",
    "revision": "revision",
    "created_at": "createdAt",
    "updated_at": "updatedAt",
    "deleted_at": "deleted_at",
}
POOLER_MODES = ("auto", "transaction", "none")


class ConfigError(Exception):
    """A setting is invalid; the message is one line an operator can act on."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROXY_", extra="ignore", frozen=True)

    # --- contract variables -------------------------------------------------------------
    database_url: str = "sqlite:///./data/proxy.sqlite3"
    storage_url: str = "file://./data/artifacts"
    s3_endpoint_url: str | None = None
    redis_url: str | None = None
    public_base_url: str | None = None
    admin_token: SecretStr | None = None
    cors_origins: str = "*"

    # --- data -----------------------------------------------------------------------------
    # a direct (unpooled) connection for migrations and LISTEN, when database_url is a pooler
    database_direct_url: str | None = None
    # "auto": a transaction pooler when the URL says pgbouncer=true or names a "-pooler" host
    database_pooler: str = "auto"
    scene_table: str = "bazaar-vid_scene"
    scene_columns: dict[str, str] = Field(default_factory=lambda: dict(SCENE_COLUMN_DEFAULTS))
    # the product's own writes reach us by NOTIFY (PostgreSQL); `serve --workers N` listens in one worker
    database_listen: bool = True
    listen_reconnect_seconds: float = Field(1.0, gt=0)
    db_pool_size: int = Field(10, ge=1, le=200)
    db_timeout_seconds: float = Field(5.0, gt=0)

    # --- compiler -------------------------------------------------------------------------
    compile_workers: int = Field(2, ge=1, le=64, description="persistent Node compiler processes")
    compile_timeout_seconds: float = Field(5.0, gt=0)
    compile_queue_limit: int = Field(64, ge=1, description="compiles waiting for a worker before 429")
    compile_per_client_limit: int = Field(32, ge=1, description="distinct scenes one client may have compiling")
    max_source_bytes: int = Field(512 * KIB, ge=1)
    max_artifact_bytes: int = Field(2 * MIB, ge=1024, description="a bigger compiled module is a too-large error")
    compile_memory_mb: int = Field(512, ge=64, description="V8 heap limit of each Node compiler process")
    compile_stack_kb: int = Field(2048, ge=256, le=7680, description="V8 stack limit of each compiler process")
    failure_backoff_seconds: float = Field(
        10.0, gt=0, description="first pause before a source that timed out or crashed is compiled again")
    failure_backoff_max_seconds: float = Field(600.0, gt=0, description="the longest such pause")
    failure_record_after: int = Field(
        3, ge=1, description="failures of one source (ours: timeout, crash) before the scene records the error")
    node_binary: str = "node"
    project_max_scenes: int = Field(200, ge=1, le=5000, description="scenes one project bundle may hold")
    project_max_bytes: int = Field(16 * MIB, ge=1024, description="a bigger project module is refused (422)")
    # specifier -> host global (or URL); merged over the compiler's built-in map
    import_map: dict[str, str] = Field(default_factory=dict)
    # a source map beside every artifact (`<hash>.js.map`); part of the hash (the module's comment)
    source_maps: bool = True

    # --- cache ----------------------------------------------------------------------------
    l1_max_bytes: int = Field(64 * MIB, ge=0, description="in-process artifact budget (all encodings)")
    l2_max_entry_bytes: int = Field(512 * KIB, ge=0)
    mapping_ttl_seconds: float = Field(60.0, gt=0, description="sceneId -> hash backstop TTL")
    negative_ttl_seconds: float = Field(2.0, ge=0, description="how long a compile error is reused")
    lease_ttl_seconds: float = Field(10.0, gt=0, description="cluster single-flight lease")
    lease_wait_seconds: float = Field(15.0, gt=0, description="waiter gives up and compiles itself")
    redis_key_prefix: str = "ap:"
    # set by `serve --workers N` for its workers (a shared-memory file); not an operator setting
    invalidation_board: str | None = None

    # --- edge (CDN) ---------------------------------------------------------------------
    # purgers, comma-separated: varnish://host:port (BAN by surrogate key), cloudflare://ZONE_ID;
    # unset: pointers stay uncacheable by shared caches, as before
    edge_purge: str | None = None
    edge_max_stale_seconds: int = Field(300, ge=1, le=86400 * 30,
                                        description="how long an edge may keep a pointer whose purge was lost")
    edge_purge_delay_seconds: float = Field(0.25, ge=0, le=10,
                                            description="purges of one key within this window go out once")
    edge_purge_timeout_seconds: float = Field(5.0, gt=0)
    # a write through our API waits this long at most for the edges to confirm its purge (0: not at all)
    edge_purge_wait_seconds: float = Field(1.0, ge=0, le=10)
    # the standard names Cloudflare's own tools (wrangler, terraform) read
    cloudflare_api_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("PROXY_CLOUDFLARE_API_TOKEN", "CLOUDFLARE_API_TOKEN",
                                           "cloudflare_api_token"))
    cloudflare_api_url: str = "https://api.cloudflare.com/client/v4"

    # --- storage --------------------------------------------------------------------------
    storage_timeout_seconds: float = Field(5.0, gt=0)
    storage_threads: int = Field(16, ge=1)

    # --- HTTP -----------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    workers: int | None = Field(None, ge=1)
    max_body_bytes: int = Field(1 * MIB, ge=1024)
    trusted_proxy_hops: int = Field(
        0, ge=0, le=32, description="proxies in front of us: the client is the Nth X-Forwarded-For entry from the end")
    access_log: bool = False
    log_level: str = "INFO"
    shutdown_timeout_seconds: float = Field(10.0, ge=0)
    runtime_dir: str | None = None  # where the built browser host runtime lives (default: build/runtime)
    client_dir: str | None = None  # where the built scene client lives (default: build/client)

    @field_validator("admin_token")
    @classmethod
    def _admin_token_strength(cls, v: SecretStr | None) -> SecretStr | None:
        # Set but blank (an unset compose variable, an empty `$(openssl ...)`) must never mean "open".
        if v is not None and len(v.get_secret_value().strip()) < MIN_ADMIN_TOKEN_CHARS:
            raise ValueError(f"set but blank or shorter than {MIN_ADMIN_TOKEN_CHARS} characters; "
                             "use a long random secret (openssl rand -hex 32) or unset it to disable writes")
        return v

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, v: str) -> str:
        scheme = urlsplit(v).scheme
        if scheme not in ("sqlite", "postgresql", "postgres"):
            raise ValueError(f"unknown scheme {scheme!r}: use sqlite:///path or postgresql://user@host/db")
        return v

    @field_validator("database_direct_url")
    @classmethod
    def _direct_scheme(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        if urlsplit(v).scheme not in ("postgresql", "postgres"):
            raise ValueError("the direct URL is for PostgreSQL: postgresql://user@host/db")
        return v

    @field_validator("database_pooler")
    @classmethod
    def _pooler_mode(cls, v: str) -> str:
        if v not in POOLER_MODES:
            raise ValueError(f"use one of {', '.join(POOLER_MODES)}")
        return v

    @field_validator("scene_columns")
    @classmethod
    def _scene_columns(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(v) - set(SCENE_COLUMN_DEFAULTS))
        if unknown:
            raise ValueError(f"unknown keys {unknown}; the keys are {sorted(SCENE_COLUMN_DEFAULTS)}")
        for key, name in v.items():
            if not isinstance(name, str) or not name or len(name) > 63 or "\x00" in name:
                raise ValueError(f"{key}: {name!r} is not a column name (1-63 characters)")
        return {**SCENE_COLUMN_DEFAULTS, **v}

    @field_validator("storage_url")
    @classmethod
    def _storage_scheme(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("file", "s3"):
            raise ValueError(f"unknown scheme {parts.scheme!r}: use file://./dir or s3://bucket/prefix")
        if parts.scheme == "s3" and not parts.netloc:
            raise ValueError("s3 URL needs a bucket: s3://bucket/prefix")
        return v

    @field_validator("redis_url", "s3_endpoint_url", "public_base_url")
    @classmethod
    def _optional_url(cls, v: str | None, info: Any) -> str | None:
        if v in (None, ""):
            return None
        allowed = {"redis_url": ("redis", "rediss", "unix")}.get(info.field_name, ("http", "https"))
        parts = urlsplit(v)
        if parts.scheme not in allowed or not (parts.netloc or parts.scheme == "unix"):
            raise ValueError(f"{v!r} is not a {'/'.join(allowed)} URL")
        return v.rstrip("/")

    @field_validator("edge_purge")
    @classmethod
    def _edge_purge(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        for one in (u.strip() for u in v.split(",")):
            parts = urlsplit(one)
            if parts.scheme not in ("varnish", "cloudflare") or not parts.netloc:
                raise ValueError(f"{one!r}: use varnish://host:port or cloudflare://ZONE_ID (comma-separated)")
        return v

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlFileSource(settings_cls))


class _TomlFileSource(PydanticBaseSettingsSource):
    """PROXY_CONFIG_FILE=path.toml adds settings; the environment wins over the file."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        import os

        path = os.environ.get("PROXY_CONFIG_FILE")
        if not path:
            return {}
        data = tomllib.loads(Path(path).read_text())
        return {k: v for k, v in data.items() if k in self.settings_cls.model_fields}


def load_settings(**overrides: Any) -> Settings:
    """Build settings; raise ConfigError with one readable line on any invalid value."""
    try:
        return Settings(**overrides)
    except ValidationError as e:
        first = e.errors()[0]
        name = "PROXY_" + str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise ConfigError(f"{name}: {first['msg']}") from None
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"PROXY_CONFIG_FILE: {e}") from None
