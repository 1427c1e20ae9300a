"""The progress display: a bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import io

from proxy.backfill import BackfillStats
from proxy.backfill_cli import Progress


def test_progress_plain_lines_when_not_a_tty() -> None:
    out = io.StringIO()
    progress = Progress(total=10, out=out, every=0.0)
    stats = BackfillStats(scanned=4, compiled=3, failed=1)
    progress.update(stats)
    progress.update(stats, final=True)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and "\r" not in out.getvalue()
    assert lines[0].startswith("backfill: 4/10 scanned, 3 compiled, 1 failed,") and "/s, eta" in lines[0]


def test_progress_bar_with_rate_and_eta_on_a_tty() -> None:
    out = io.StringIO()
    progress = Progress(total=10, out=out, tty=True)
    progress.update(BackfillStats(scanned=5, compiled=5), final=True)
    text = out.getvalue()
    assert text.startswith("\r[###############...............] 5/10") and "/s ETA" in text and text.endswith("\n")
