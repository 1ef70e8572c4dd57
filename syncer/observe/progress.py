"""A live progress line on a terminal; silent elsewhere.

Shows targets done of total, failed, retries, requests per second, ETA, and — while the pacer
holds requests for a rate limit — "waiting for rate limit until HH:MM:SS". Log lines and prints
that reach the terminal meanwhile appear above it.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterable
from typing import Any, Protocol, TextIO

from ..core.model import Outcome, Result, Scope
from ..github.pacing import local_time
from ..github.pacing_rules import request_points
from .terminal import can_encode, colours_wanted, columns, paint, redraws_possible

REFRESH_SECONDS = 1 / 8
CLEAR_LINE = "\r\x1b[K"


class PacerView(Protocol):
    @property
    def paused_until(self) -> float: ...

    @property
    def stats(self) -> Any: ...

    @property
    def pacing(self) -> bool: ...

    @property
    def pace(self) -> Any: ...

    @property
    def current_pace(self) -> Any: ...

    @property
    def minute(self) -> float: ...


Segments = list[tuple[str, str | None]]  # (text, style)


class Progress:
    def __init__(self, total: int, *, stream: TextIO | None = None, enabled: bool | None = None,
                 pacer: PacerView | None = None, retries: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = redraws_possible(self.stream) if enabled is None else enabled
        self._full, self._empty = ("█", "░") if can_encode(self.stream, "█░") else ("#", "-")
        self.total = 0
        self.done = 0
        self.written = 0
        self.failed = 0
        self._pacer = pacer
        self._retries = retries  # an object with a .retries count (the client's stats)
        self._started = time.monotonic()
        self._requests_at_start = pacer.stats.requests if pacer is not None else 0
        self._live: _LiveLine | None = None
        self.more(total)

    def more(self, targets: int = 1) -> None:
        """`targets` more to do (a listing still arriving); the line shows from the first."""
        self.total += targets
        if self.enabled and self.total and self._live is None:
            live = _LiveLine(self.stream, self.segments)
            live.start()
            self._live = live

    def __call__(self, outcome: Outcome) -> None:
        self.done += 1
        if outcome.result is Result.FAILED:
            self.failed += 1
        elif outcome.result is not Result.SKIPPED:
            self.written += 1

    def segments(self) -> Segments:
        now = time.monotonic()
        elapsed = max(now - self._started, 1e-6)
        width = 30
        filled = bar_cells(self.written, self.total, width)
        parts: Segments = [(self._full * filled, "green"), (self._empty * (width - filled), "grey"),
                           (f" {self.done}/{self.total}", None)]
        if self.failed:
            parts.append((f"  {self.failed} failed", "red"))
        retries = getattr(self._retries, "retries", 0)
        if retries:
            parts.append((f"  {retries} retries", "yellow"))
        if self._pacer is not None:
            requests = self._pacer.stats.requests - self._requests_at_start
            parts.append((f"  {rate_text(requests / elapsed)} req/s", None))
            if self._pacer.paused_until - time.time() > 0:
                until = local_time(self._pacer.paused_until)
                parts.append((f"  waiting for rate limit until {until}", "bold yellow"))
                return parts
            lowered = self._pacer.current_pace.writes_per_minute
            if lowered and lowered < (self._pacer.pace.writes_per_minute or 0):
                parts.append((f"  pace lowered to {lowered:.0f} writes/min", "yellow"))
            elif self._pacer.pacing:
                parts.append(("  paced as GitHub asks", "cyan"))
        pace = self._pacer.current_pace if self._pacer is not None else None
        eta = eta_seconds(self.total - self.done, done=self.done, elapsed=elapsed,
                          writes_per_minute=pace.writes_per_minute if pace else None,
                          points_per_minute=pace.points_per_minute if pace else None,
                          minute=self._pacer.minute if self._pacer is not None else 60.0)
        if eta is not None:
            parts.append((f"  ETA {_duration(eta)}", None))
        return parts

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


def bar_cells(written: int, total: int, width: int) -> int:
    """Cells of the bar to fill: never more than the share written (rounded down), so a bar
    is full only once every target is written. Pure."""
    if total <= 0:
        return width
    return min(width, max(0, written) * width // total)


#: Points a write costs under GitHub's secondary limit: its PUT, and the public key's GET
WRITE_POINTS = request_points("PUT") + request_points("GET")


def paced_writes_per_second(writes_per_minute: float | None, points_per_minute: float | None,
                            minute: float = 60.0) -> float | None:
    """The most writes a second the pace lets through (None: no pace). Pure."""
    limits = [w for w in (writes_per_minute,
                          points_per_minute / WRITE_POINTS if points_per_minute else None) if w]
    return min(limits) / minute if limits else None


def eta_seconds(left: int, *, done: int, elapsed: float, writes_per_minute: float | None,
                points_per_minute: float | None, minute: float = 60.0) -> float | None:
    """Seconds until the `left` targets are written: while paced, from the pace (writes left
    ÷ writes a second it allows), so the estimate stays steady as writes wait their turn;
    unpaced, from the rate so far. None when nothing tells yet (or nothing is left). Pure."""
    if left <= 0:
        return None
    per_second = paced_writes_per_second(writes_per_minute, points_per_minute, minute)
    if per_second:
        return left / per_second
    if done > 0 and elapsed > 0:
        return left * elapsed / done
    return None


def reading_text(org: str, done: int, total: int | None, what: str = "repositories") -> str:
    """'reading acme: 120/300 repositories', or 'listing acme: 200 repositories' while the
    total is not known yet. Pure."""
    if total is None:
        return f"listing {org}: {done} {what}"
    return f"reading {org}: {min(done, total)}/{total} {what}"


class Reading:
    """The progress line while a run reads GitHub, before its first write: repositories listed
    per org, then repositories whose secrets were read of those to read (a repository counts
    once its own and its environments' secrets are read). Silent unless on a terminal."""

    def __init__(self, *, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = redraws_possible(self.stream) if enabled is None else enabled
        self._lock = threading.Lock()
        self._listed: dict[str, int] = {}
        self._left: dict[tuple[str, str], int] = {}  # (org, repo) → scopes not yet read
        self._read: dict[str, int] = {}
        self._total: dict[str, int] = {}
        self._live: _LiveLine | None = None

    def listed(self, org: str, count: int = 1) -> None:
        with self._lock:
            self._listed[org] = self._listed.get(org, 0) + count
        self._show()

    def to_read(self, scopes: Iterable[Scope]) -> None:
        with self._lock:
            for scope in scopes:
                if scope.repo is not None:
                    key = (scope.org, scope.repo)
                    if key not in self._left:
                        self._total[scope.org] = self._total.get(scope.org, 0) + 1
                    self._left[key] = self._left.get(key, 0) + 1
        self._show()

    def read(self, scope: Scope) -> None:
        if scope.repo is None:
            return
        with self._lock:
            key = (scope.org, scope.repo)
            self._left[key] = self._left.get(key, 1) - 1
            if self._left[key] == 0:
                self._read[scope.org] = self._read.get(scope.org, 0) + 1

    def segments(self) -> Segments:
        with self._lock:
            orgs = list(dict.fromkeys([*self._listed, *self._total]))
            texts = [reading_text(org, self._read.get(org, 0), self._total[org])
                     if org in self._total else reading_text(org, self._listed[org], None)
                     for org in orgs]
        return [("; ".join(texts), None)]

    def _show(self) -> None:
        if self.enabled and self._live is None:
            live = _LiveLine(self.stream, self.segments)
            live.start()
            self._live = live

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


def rate_text(per_second: float) -> str:
    """A rate as people read it: 0.8, 12, 640, 6.2k."""
    if per_second < 10:
        return f"{per_second:.1f}"
    if per_second < 1000:
        return f"{per_second:.0f}"
    return f"{per_second / 1000:.1f}k"


def render(parts: Segments, width: int, colour: bool) -> str:
    """The segments cut to `width` characters, with ANSI colours when asked."""
    out: list[str] = []
    room = width
    for text, style in parts:
        text = text[:room]
        room -= len(text)
        if text:
            out.append(paint(text, style) if colour and style else text)
    return "".join(out)


class _LiveLine:
    """Redraws one line at the bottom of the terminal several times a second, in a thread, and
    routes what is written to stdout and stderr meanwhile above it."""

    def __init__(self, stream: TextIO, segments: Any) -> None:
        self._stream = stream
        self._segments = segments
        self._colour = colours_wanted()
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._refresh, name="syncer-progress",
                                        daemon=True)
        self._replaced: list[tuple[str, TextIO]] = []
        self._mid_line = False  # text written above has not ended its line yet: no redraw

    def start(self) -> None:
        try:
            for name in ("stdout", "stderr"):
                current = getattr(sys, name)
                if current is not None and current.isatty():  # None: that fd was closed
                    self._replaced.append((name, current))
                    setattr(sys, name, _Above(current, self))
            self.draw()
            self._thread.start()
        except BaseException:
            self._restore()
            raise

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()
        with self._lock:
            self._restore()
            if self._mid_line:
                self._stream.write("\n")
                self._mid_line = False
            self.draw()
            self._stream.write("\n")
            self._stream.flush()

    def draw(self) -> None:
        width = columns(self._stream) - 1  # never wrap: \r returns to the line's start
        with self._lock:
            if self._mid_line:
                return
            self._stream.write(CLEAR_LINE + render(self._segments(), width, self._colour))
            self._stream.flush()

    def write_above(self, target: TextIO, text: str) -> None:
        with self._lock:
            if not text:
                return
            if not self._mid_line:
                self._stream.write(CLEAR_LINE)
                self._stream.flush()
            target.write(text)
            target.flush()
            self._mid_line = not text.endswith("\n")
            self.draw()

    def _restore(self) -> None:
        for name, original in self._replaced:
            setattr(sys, name, original)
        self._replaced.clear()

    def _refresh(self) -> None:
        while not self._stopping.wait(REFRESH_SECONDS):
            self.draw()


class _Above:
    """A terminal stream whose writes go above the live line."""

    def __init__(self, target: TextIO, live: _LiveLine) -> None:
        self._target = target
        self._live = live

    def write(self, text: str) -> int:
        self._live.write_above(self._target, text)
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._target.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
