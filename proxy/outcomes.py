"""What a compile's cluster leader tells the processes waiting on it when it fails.

The lease (cache/lease.py) carries this text without reading it. A source error (syntax, import,
no default export, too large) is the same error on every node for one hash, so a waiter raises it
without compiling again. A failure of ours (timeout, crash, overload) is not shared: a waiter
compiles itself, and may succeed where the leader's worker did not. Anything else (a project too
large, storage down) is not shared either; the waiter's own work meets it or not."""

from __future__ import annotations

import orjson

from core.compiler import CompileError


class CompileOutcomes:
    """The lease's OutcomeCodec for compiles: CompileError through core's JSON codec."""

    def encode(self, error: BaseException) -> str | None:
        if isinstance(error, CompileError) and error.is_source_error:
            return orjson.dumps(error.to_json()).decode()
        return None

    def decode(self, detail: str) -> BaseException | None:
        try:
            data = orjson.loads(detail)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(data, dict):
            return None
        error = CompileError.from_json(data)
        return error if error.is_source_error else None
