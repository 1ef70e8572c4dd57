"""A live progress bar on a terminal (rich); silent elsewhere.

Shows targets done of total, failed, retries, requests per second, ETA, and — while the pacer
holds requests for a rate limit — "waiting for rate limit until HH:MM:SS".
"""

from __future__ import annotations

import sys
import time
from typing import Any, Protocol, TextIO

from rich.console import Console
from rich.live import Live
from rich.text import Text

from ..model import Outcome, Result


class PacerView(Protocol):
    @property
    def paused_until(self) -> float: ...

    @property
    def stats(self) -> Any: ...

    @property
    def pacing(self) -> bool: ...


class Progress:
    def __init__(self, total: int, *, stream: TextIO | None = None, enabled: bool | None = None,
                 pacer: PacerView | None = None, retries: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.total = 0
        self.done = 0
        self.failed = 0
        self._pacer = pacer
        self._retries = retries  # an object with a .retries count (the client's stats)
        self._started = time.monotonic()
        self._requests_at_start = pacer.stats.requests if pacer is not None else 0
        self._live: Live | None = None
        self.more(total)

    def more(self, targets: int = 1) -> None:
        """`targets` more to do (a listing still arriving); the bar shows from the first."""
        self.total += targets
        if self.enabled and self.total and self._live is None:
            console = Console(file=self.stream, force_terminal=True)
            self._live = Live(_Line(self), console=console, refresh_per_second=8,
                              transient=False)
            self._live.start()

    def __call__(self, outcome: Outcome) -> None:
        self.done += 1
        if outcome.result is Result.FAILED:
            self.failed += 1

    def line(self) -> Text:
        now = time.monotonic()
        elapsed = max(now - self._started, 1e-6)
        width = 30
        filled = int(width * self.done / self.total) if self.total else width
        text = Text()
        text.append("█" * filled, style="green")
        text.append("░" * (width - filled), style="grey50")
        text.append(f" {self.done}/{self.total}")
        if self.failed:
            text.append(f"  {self.failed} failed", style="bold red")
        retries = getattr(self._retries, "retries", 0)
        if retries:
            text.append(f"  {retries} retries", style="yellow")
        if self._pacer is not None:
            requests = self._pacer.stats.requests - self._requests_at_start
            text.append(f"  {requests / elapsed:.0f} req/s")
            wait = self._pacer.paused_until - time.time()
            if wait > 0:
                until = time.strftime("%H:%M:%S", time.localtime(self._pacer.paused_until))
                text.append(f"  waiting for rate limit until {until}", style="bold yellow")
                return text
            if self._pacer.pacing:
                text.append("  paced under GitHub's points-per-minute limit", style="cyan")
        rate = self.done / elapsed
        if self.done < self.total and rate > 0:
            text.append(f"  ETA {_duration((self.total - self.done) / rate)}")
        return text

    def close(self) -> None:
        if self._live is not None:
            self._live.refresh()
            self._live.stop()
            self._live = None


class _Line:
    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def __rich__(self) -> Text:
        return self.progress.line()


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
