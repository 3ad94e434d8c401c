"""How far ``book --from-file`` got, on a terminal: one line rewritten in place, then a summary.

Thousands of rows take a minute or two (the workflows' starts dominate); a silent terminal for
that long looks hung. Only a terminal gets it: with ``--json``, or when the output goes to a
file or a pipe, the output stays what scripts read.
"""

from __future__ import annotations

import time
from typing import TextIO

REDRAW_EVERY = 0.1
"""Seconds between rewrites of the line (the last state is always drawn)."""


class FileProgress:
    """``notifier.schedule_many``'s ``progress``, drawing on ``out``."""

    def __init__(self, out: TextIO, rows: int) -> None:
        self._out = out
        self._rows = rows
        self._stages: dict[str, int] = {}
        self._began = time.monotonic()
        self._drawn = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        self._stages[stage] = done
        now = time.monotonic()
        if done == total or now - self._drawn >= REDRAW_EVERY:
            self._drawn = now
            self._out.write("\r" + self.line() + "\x1b[K")
            self._out.flush()

    def line(self) -> str:
        """``5000 rows checked, 5000 written, 1234/5000 workflows started``."""
        words = [f"{self._stages.get('checked', 0)} rows checked"]
        if "written" in self._stages:
            words.append(f"{self._stages['written']} written")
        if "started" in self._stages:
            words.append(f"{self._stages['started']}/{self._rows} workflows started")
        return ", ".join(words)

    def summary(self, ids: list[int]) -> str:
        """``5000 bookings scheduled (ids 1–5000) in 96.1 s, 52 a second``."""
        took = max(time.monotonic() - self._began, 1e-6)
        span = f" (ids {min(ids)}–{max(ids)})" if ids else ""
        return (
            f"{len(ids)} bookings scheduled{span} in {took:.1f} s, {len(ids) / took:.0f} a second"
        )
