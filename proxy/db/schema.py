"""Schema shared by both backends: table-name validation, column lists, row -> Scene conversion.

The scene table belongs to the product (id, tsx_code, name, project_id, updated_at, maybe more);
we only ever add the compilation columns and an index on compiled_hash. Our own tables are
`artifact_proxy_flag` (feature flags) and `artifact_proxy_schema` (one version row per scene table).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from proxy.db.base import Compilation, Scene

SCHEMA_VERSION = 1
FLAG_TABLE = "artifact_proxy_flag"
VERSION_TABLE = "artifact_proxy_schema"
MAX_HASH_LENGTH = 16
MAX_IDENTIFIER_LENGTH = 63  # PostgreSQL truncates longer identifiers silently

_TABLE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")

# Columns we read, in Scene field order. The product's table may have more; we never select them.
SCENE_COLUMNS: tuple[str, ...] = (
    "id",
    "tsx_code",
    "name",
    "project_id",
    "updated_at",
    "compiled_url",
    "compiled_hash",
    "compiled_at",
    "compilation_error",
)

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


def row_to_scene(row: Mapping[str, Any] | Any) -> Scene:
    """Build a Scene from a row addressable by column name (asyncpg.Record, sqlite3.Row)."""
    return Scene(
        id=to_uuid(row["id"]),  # type: ignore[arg-type]
        tsx_code=row["tsx_code"],
        name=row["name"],
        project_id=to_uuid(row["project_id"]),
        updated_at=to_datetime(row["updated_at"]),
        compiled_url=row["compiled_url"],
        compiled_hash=row["compiled_hash"],
        compiled_at=to_datetime(row["compiled_at"]),
        compilation_error=row["compilation_error"],
    )
