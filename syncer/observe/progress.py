"""A live one-line count of a run on a terminal; silent elsewhere."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from ..model import Outcome, Result


class Progress:
    def __init__(self, total: int, *, stream: TextIO | None = None, enabled: bool | None = None,
                 interval: float = 0.1) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.total = total
        self.done = 0
        self.failed = 0
        self._interval = interval
        self._last = 0.0
        self._started = time.monotonic()

    def __call__(self, outcome: Outcome) -> None:
        self.done += 1
        if outcome.result is Result.FAILED:
            self.failed += 1
        now = time.monotonic()
        if self.enabled and (now - self._last >= self._interval or self.done == self.total):
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        elapsed = now - self._started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        self.stream.write(f"\r{self.done}/{self.total} done, {self.failed} failed, "
                          f"{rate:.0f}/s  ")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.done:
            self.stream.write("\n")
            self.stream.flush()
