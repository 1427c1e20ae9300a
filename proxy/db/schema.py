"""Schema shared by both backends: the product's scene table, our additions, row -> Scene.

The scene table belongs to the product. Its ORM names most columns in camelCase ("tsxCode",
"projectId", "updatedAt"), soft-deletes with deleted_at, and already has compilation_error. We read
its columns through one mapping (Settings.scene_columns) and add only compiled_url, compiled_hash,
compiled_at (and compilation_error where it is missing), an index on compiled_hash and, on
PostgreSQL, a trigger that NOTIFYs us when a scene's code, project or deletion changes. Our own
tables are `artifact_proxy_flag` (feature flags) and `artifact_proxy_schema` (a version row per
scene table). Where the scene table does not exist (the embedded default, tests) we create it in
the product's shape, so every test runs against the real column names.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from config.settings import SCENE_COLUMN_DEFAULTS
from core.scenes import Compilation, Scene, SceneChange, SceneHead

SCHEMA_VERSION = 2  # 2: the product's camelCase shape (1 was our own snake_case table)
FLAG_TABLE = "artifact_proxy_flag"
VERSION_TABLE = "artifact_proxy_schema"
MAX_HASH_LENGTH = 16
MAX_IDENTIFIER_LENGTH = 63  # PostgreSQL truncates longer identifiers silently

_TABLE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")

# The columns migrate() adds to an existing product table (name -> PostgreSQL / SQLite type).
COMPILATION_COLUMNS_PG: dict[str, str] = {
    "compiled_url": "text",
    "compiled_hash": f"varchar({MAX_HASH_LENGTH})",
    "compiled_at": "timestamptz",
    "compilation_error": "text",
}
COMPILATION_COLUMNS_SQLITE: dict[str, str] = {
    "compiled_url": "TEXT",
    "compiled_hash": f"VARCHAR({MAX_HASH_LENGTH})",
    "compiled_at": "TEXT",
    "compilation_error": "TEXT",
}

# Our v1 table (snake_case) -> the product's shape; renamed in place by migrate().
V1_RENAMES = {"tsx_code": "tsx_code", "project_id": "project_id", "updated_at": "updated_at"}


class SceneColumns:
    """The product's column names (quoted) for what the proxy reads, and the SQL built from them."""

    def __init__(self, names: Mapping[str, str] | None = None) -> None:
        self.names: dict[str, str] = {**SCENE_COLUMN_DEFAULTS, **(names or {})}
        q = {key: quote_ident(name) for key, name in self.names.items()}
        self.tsx_code, self.project_id, self.order = q["tsx_code"], q["project_id"], q["order"]
        self.name, self.duration, self.revision = q["name"], q["duration"], q["revision"]
        self.created_at, self.updated_at, self.deleted_at = q["created_at"], q["updated_at"], q["deleted_at"]
        # every read selects the same aliases, so row_to_scene knows one shape
        self.select = ", ".join((
            "id",
            f"{self.tsx_code} AS tsx_code",
            f"{self.name} AS name",
            f"{self.project_id} AS project_id",
            f"COALESCE({self.updated_at}, {self.created_at}) AS updated_at",
            "compiled_url",
            "compiled_hash",
            "compiled_at",
            "compilation_error",
            f"{self.order} AS scene_order",
            f"{self.duration} AS duration",
            f"{self.created_at} AS created_at",
        ))
        self.live = f"{self.deleted_at} IS NULL"
        # a project miss: everything but the source (`code_hash` is an expression each backend gives)
        self.head = ", ".join((
            "id",
            f"{self.name} AS name",
            f"{self.project_id} AS project_id",
            f"COALESCE({self.updated_at}, {self.created_at}) AS updated_at",
            "compiled_url",
            "compiled_hash",
            "compilation_error",
            f"{self.order} AS scene_order",
            f"{self.duration} AS duration",
        ))
        self.project_order = f"{self.order}, {self.created_at}, id"

    def missing(self, existing: set[str]) -> dict[str, str]:
        """Setting key -> column name, for each mapped column the table lacks."""
        return {key: name for key, name in self.names.items() if name not in existing}


def schema_mismatch_message(table: str, missing: Mapping[str, str]) -> str:
    cols = ", ".join(f"{name!r} ({key})" for key, name in missing.items())
    example = next(iter(missing))
    return (f"table {table!r} lacks the scene columns {cols}; if they exist under other names, map them with "
            f"PROXY_SCENE_COLUMNS='{{\"{example}\": \"<column>\"}}'")


def notify_channel(table: str) -> str:
    """The LISTEN/NOTIFY channel for one scene table (an identifier: at most 63 bytes)."""
    digest = hashlib.sha256(table.encode()).hexdigest()[:10]
    return f"artifact_proxy_{digest}"


def trigger_function_name(table: str) -> str:
    return f"artifact_proxy_notify_{hashlib.sha256(table.encode()).hexdigest()[:10]}"


TRIGGER_NAME = "artifact_proxy_notify"
# a custom setting our API's writes set for their transaction; the trigger puts it in the payload
WRITER_SETTING = "artifact_proxy.writer"


UNKNOWN_COMPILE_ERROR = "compilation failed"


def validate_table_name(name: str) -> str:
    """Return `name` if it is a safe identifier ([A-Za-z0-9_-], 1..63 chars); else ValueError."""
    if not isinstance(name, str) or not _TABLE_NAME.fullmatch(name):
        raise ValueError(f"scene table name {name!r} may only contain letters, digits, '_' and '-'")
    if len(name) > MAX_IDENTIFIER_LENGTH:
        raise ValueError(f"scene table name {name!r} is longer than {MAX_IDENTIFIER_LENGTH} characters")
    return name


def quote_ident(name: str) -> str:
    """Quote an identifier for SQL (both dialects use double quotes)."""
    return '"' + name.replace('"', '""') + '"'


def project_index_name(table: str) -> str:
    """Name of our index on project_id, created only on tables we create (the product indexes its own)."""
    suffix = "_project_id_idx"
    return table[: MAX_IDENTIFIER_LENGTH - len(suffix)] + suffix


def index_name(table: str) -> str:
    """Name of our index on compiled_hash (kept within PostgreSQL's 63-character limit)."""
    suffix = "_compiled_hash_idx"
    return table[: MAX_IDENTIFIER_LENGTH - len(suffix)] + suffix


def check_compilation(result: Compilation) -> None:
    """Reject values the column types cannot hold, identically on both backends."""
    if result.hash is not None and len(result.hash) > MAX_HASH_LENGTH:
        raise ValueError(f"compiled hash {result.hash!r} is longer than {MAX_HASH_LENGTH} characters")


def failure_message(result: Compilation) -> str:
    """The error text to store; NUL (which PostgreSQL text cannot hold) becomes U+FFFD."""
    return (result.error or UNKNOWN_COMPILE_ERROR).replace("\x00", "\ufffd")


def check_text(**values: str | None) -> None:
    """PostgreSQL text cannot hold NUL; reject it on every backend alike (ValueError)."""
    for field, value in values.items():
        if value is not None and "\x00" in value:
            raise ValueError(f"{field} contains a NUL character")


def check_rollout(rollout_percentage: int) -> int:
    if isinstance(rollout_percentage, bool) or not isinstance(rollout_percentage, int):
        raise ValueError(f"rollout percentage must be an integer, got {rollout_percentage!r}")
    if not 0 <= rollout_percentage <= 100:
        raise ValueError(f"rollout percentage must be between 0 and 100, got {rollout_percentage}")
    return rollout_percentage


def check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValueError(f"limit must be a non-negative integer, got {limit!r}")
    return limit


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_uuid(value: Any) -> uuid.UUID | None:
    if value is None:
        return None
    if type(value) is uuid.UUID:
        return value
    if isinstance(value, uuid.UUID):  # asyncpg's UUID subclass -> plain uuid.UUID
        return uuid.UUID(int=value.int)
    if isinstance(value, bytes | bytearray | memoryview) and len(bytes(value)) == 16:
        return uuid.UUID(bytes=bytes(value))
    return uuid.UUID(str(value))


def required_uuid(value: Any) -> uuid.UUID:
    found = to_uuid(value)
    if found is None:
        raise ValueError("a scene row without an id")
    return found


def to_datetime(value: Any) -> datetime | None:
    """A tz-aware UTC datetime from a driver value (datetime, ISO text, or epoch seconds/millis)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, int | float):
        seconds = value / 1000 if abs(value) > 100_000_000_000 else value
        return datetime.fromtimestamp(seconds, UTC)
    else:
        text = str(value).strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def to_iso(dt: datetime) -> str:
    """ISO-8601 text in UTC with microseconds (sorts chronologically as text)."""
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def change_of(scene_id: Any, *project_ids: Any) -> SceneChange:
    ids = tuple(dict.fromkeys(p for p in (to_uuid(v) for v in project_ids) if p is not None))
    return SceneChange(required_uuid(scene_id), ids)


# core.scenes.source_hash in SQL: the database hashes the code where it lives and sends 16 hex
# characters instead of the source. PostgreSQL 11+ (sha256); `fingerprint` is a bound text parameter.
def pg_source_hash(fingerprint_param: str, code_column: str) -> str:
    return (f"left(encode(sha256(convert_to({fingerprint_param}::text || E'\\n' || {code_column}, 'UTF8')), "
            f"'hex'), {MAX_HASH_LENGTH})")


SQLITE_SOURCE_HASH = "artifact_proxy_source_hash"  # registered on every connection (sqlite.py)


def row_to_head(row: Mapping[str, Any] | Any) -> SceneHead:
    return SceneHead(
        id=required_uuid(row["id"]),
        code_hash=row["code_hash"],
        name=row["name"],
        project_id=to_uuid(row["project_id"]),
        updated_at=to_datetime(row["updated_at"]),
        compiled_url=row["compiled_url"],
        compiled_hash=row["compiled_hash"],
        compilation_error=row["compilation_error"],
        order=int(row["scene_order"] or 0),
        duration=None if row["duration"] is None else int(row["duration"]),
    )


def row_to_scene(row: Mapping[str, Any] | Any) -> Scene:
    """Build a Scene from a row addressable by column name (asyncpg.Record, sqlite3.Row)."""
    return Scene(
        id=required_uuid(row["id"]),
        tsx_code=row["tsx_code"],
        name=row["name"],
        project_id=to_uuid(row["project_id"]),
        updated_at=to_datetime(row["updated_at"]),
        compiled_url=row["compiled_url"],
        compiled_hash=row["compiled_hash"],
        compiled_at=to_datetime(row["compiled_at"]),
        compilation_error=row["compilation_error"],
        order=int(row["scene_order"] or 0),
        duration=None if row["duration"] is None else int(row["duration"]),
        created_at=to_datetime(row["created_at"]),
    )
