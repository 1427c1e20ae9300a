"""What the compiler hands back, and how it fails. The seam between the service and any compiler."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol, cast, get_args

ErrorKind = Literal[
    "syntax",  # the TSX does not parse / transform
    "import",  # an import that is not bound to a host global (package, path, URL)
    "no-default-export",
    "too-large",  # input over max_source_bytes
    "timeout",  # the worker did not answer in time (it is replaced)
    "crash",  # the worker died mid-compile (it is replaced)
    "overloaded",  # the compile queue is full
]


@dataclass(frozen=True, slots=True)
class CompiledModule:
    hash: str  # 16 hex chars of SHA-256 over source + compiler fingerprint (inputs, not output)
    code: bytes  # the ES module, UTF-8 (ends with its sourceMappingURL comment when it has a map)
    map: bytes | None = None  # its source map (JSON), stored as `<hash>.js.map`; None with maps off


class CompileError(Exception):
    """A compile that did not produce a module. Positions are 1-based; 0 when unknown."""

    def __init__(self, message: str, *, kind: ErrorKind = "syntax", line: int = 0, column: int = 0,
                 line_text: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.kind: ErrorKind = kind
        self.line = line
        self.column = column
        self.line_text = line_text

    @property
    def is_source_error(self) -> bool:
        """True when the scene's code is at fault (worth recording on the scene), False for our faults."""
        return self.kind in ("syntax", "import", "no-default-export", "too-large")

    def describe(self) -> str:
        """`LINE:COL: message` (the form stored in compilation_error and sent in X-Compilation-Error)."""
        return f"{self.line}:{self.column}: {self.message}" if self.line else self.message

    # --- the codec: JSON between processes (worker replies, lease outcomes), text in the scene row

    def to_json(self) -> dict[str, object]:
        return {"message": self.message, "kind": self.kind, "line": self.line, "column": self.column,
                "lineText": self.line_text}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> CompileError:
        """The inverse of to_json; an unknown kind is a crash of ours (never blamed on the scene)."""
        kind = data.get("kind")
        if kind not in ERROR_KINDS:
            return cls("internal compiler error", kind="crash")
        return cls(str(data.get("message") or "compile failed"), kind=cast(ErrorKind, kind),
                   line=_int(data.get("line")), column=_int(data.get("column")),
                   line_text=str(data.get("lineText") or ""))

    @classmethod
    def from_stored(cls, text: str) -> CompileError:
        """The inverse of describe(): what compilation_error holds, back to an error."""
        m = _STORED.fullmatch(text)
        if m is None:
            return cls(text)
        return cls(m.group(3), line=int(m.group(1)), column=int(m.group(2)))


_STORED = re.compile(r"(\d+):(\d+): (.*)", re.DOTALL)
ERROR_KINDS: frozenset[str] = frozenset(get_args(ErrorKind))


def _int(value: object) -> int:
    try:
        return int(value) if isinstance(value, int | float | str) else 0
    except ValueError:
        return 0


class Compiler(Protocol):
    """Compiles one scene's TSX to a browser ES module bound to host globals."""

    @property
    def fingerprint(self) -> str:
        """Compiler name + version + every output-changing option; part of every hash."""
        ...

    def hash_of(self, source: str) -> str:
        """The content hash `compile(source)` would produce, without compiling."""
        ...

    async def compile(self, source: str) -> CompiledModule:
        """Raise CompileError on any failure; never leak a tooling stack trace."""
        ...

    async def bundle(self, scenes: list[tuple[str, bytes]]) -> bytes:
        """Several compiled modules (id, code) as one module whose default export maps id -> component."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...
