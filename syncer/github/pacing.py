"""Stay under GitHub's limits before GitHub has to say so.

One Pacer per token: a points budget per minute (GET 1 point, writes 5, as GitHub counts the
secondary limit), a cap on requests in flight, a shared pause when GitHub does signal a limit,
and primary-budget tracking from the x-ratelimit-* headers.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio
import structlog

from .sansio import RateLimit

MAX_CONCURRENCY = 100  # GitHub's secondary limit on requests in flight
DEFAULT_POINTS_PER_MINUTE = 870  # a margin under GitHub's 900
_SLOW_DOWN_BELOW = 0.10  # spread the last 10% of the primary budget until its reset

log = structlog.get_logger("syncer.pacing")


def request_points(method: str) -> int:
    return 1 if method.upper() in ("GET", "HEAD", "OPTIONS") else 5


class SlidingWindow:
    """Admit points so that no sliding window of `minute` seconds holds more than `budget`.

    This is GitHub's rule itself, so a short run goes out at once and a long one settles at
    exactly the budget. (A leaky bucket either lets twice the budget through in some minute,
    when its capacity is a whole minute's budget, or smooths short runs needlessly.)

    A request is counted from admission, but its place in the window is dated when its answer
    arrives: GitHub dates it on arrival, which is later than our send, so dating it by the send
    would free its points here before GitHub does. Waiters are served first come, first served.
    """

    def __init__(self, budget: float, minute: float = 60.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = anyio.sleep) -> None:
        self.budget = budget
        self.minute = minute
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[list[float]] = deque()  # [answered at (inf while in flight), points]
        self._in_window = 0.0
        self._turn = asyncio.Lock()
        self.holding_until = 0.0  # while requests wait for room in the window (clock's time)
        self.held_seconds = 0.0

    async def acquire(self, points: int) -> list[float]:
        """Wait for room for `points`; hand the returned entry to `settle` once answered."""
        async with self._turn:
            while (delay := self._delay(points)) > 0:
                began = self._clock()
                self.holding_until = began + delay
                try:
                    await self._sleep(delay)
                finally:  # a stop cuts the wait short: count what was waited
                    self.held_seconds += self._clock() - began
            entry = [math.inf, float(points)]
            self._sent.append(entry)
            self._in_window += points
            return entry

    def settle(self, entry: list[float]) -> None:
        entry[0] = self._clock()

    def _delay(self, points: int) -> float:
        """Seconds until `points` fit, after forgetting what left the window."""
        now = self._clock()
        while self._sent and self._sent[0][0] <= now - self.minute:
            self._in_window -= self._sent.popleft()[1]
        excess = self._in_window + points - self.budget
        if excess <= 0:
            return 0.0
        latest = -math.inf  # entries leave in order, so a prefix leaves when its latest does
        for answered_at, sent_points in self._sent:
            latest = max(latest, answered_at)
            excess -= sent_points
            if excess <= 0:
                break
        if latest == math.inf:  # waiting on answers still in flight: look again shortly
            return self.minute / 60
        return latest + self.minute - now


class _Slot:
    """One request's place under a Pacer (a plain class: cheaper per request than a generator
    context manager)."""

    __slots__ = ("_entry", "_pacer", "_points")

    def __init__(self, pacer: Pacer, points: int) -> None:
        self._pacer = pacer
        self._points = points
        self._entry: list[float] | None = None

    async def __aenter__(self) -> None:
        self._entry = await self._pacer._admit(self._points)

    async def __aexit__(self, *exc_info: object) -> None:
        self._pacer._release(self._entry)


class NotAdmitted(Exception):
    """The run is stopping (the pacer was closed): this request was never sent."""


class BudgetSpent(Exception):
    """The primary budget is spent and the caller asked not to wait for its reset."""

    def __init__(self, reset_at: float) -> None:
        reset = time.strftime("%H:%M:%S", time.localtime(reset_at))
        super().__init__(f"rate limit budget spent until {reset}")
        self.reset_at = reset_at


@dataclass
class PacingStats:
    requests: int = 0
    points: int = 0
    waits: int = 0
    wait_seconds: float = 0.0


class Pacer:
    def __init__(
        self,
        *,
        points_per_minute: float | None = DEFAULT_POINTS_PER_MINUTE,
        concurrency: int = 16,
        minute: float = 60.0,
        wait_for_reset: bool = True,
        on_wait: Callable[[str, float], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            raise ValueError(f"concurrency must be between 1 and {MAX_CONCURRENCY}")
        self._points = (SlidingWindow(points_per_minute, minute, sleep=self.sleep)
                        if points_per_minute else None)
        self._closing = asyncio.Event()
        # asyncio's own semaphore: anyio's CapacityLimiter yields to the loop on every
        # acquire and release, which cost about 10% of syncer's CPU per request (measured).
        self._in_flight = asyncio.Semaphore(concurrency)
        self._requests_in_flight = 0
        self._paused_until = 0.0
        self._next_send_at = 0.0
        self._spreading_until = 0.0
        self._counted_until = 0.0  # when the waits counted in `stats` would have ended
        self._rate: RateLimit | None = None
        self._wait_for_reset = wait_for_reset
        self._on_wait = on_wait
        self._clock = clock
        self.minute = minute
        self.stats = PacingStats()

    def slot(self, method: str) -> _Slot:
        """Hold a place for one request (`async with`): after any pause, within budget and
        concurrency. Once `stop_admitting` is called, a request not yet admitted raises
        NotAdmitted."""
        return _Slot(self, request_points(method))

    async def _admit(self, points: int) -> list[float] | None:
        if self._paused_until > self._clock():
            await self._respect_pause()
        if self._rate is not None:
            await self._respect_primary()
        entry = await self._points.acquire(points) if self._points is not None else None
        try:
            await self._in_flight.acquire()
        except BaseException:
            self._settle(entry)
            raise
        if self._closing.is_set():  # stopped while waiting for a place
            self._in_flight.release()
            self._settle(entry)
            raise NotAdmitted
        self.stats.requests += 1
        self.stats.points += points
        self._requests_in_flight += 1
        return entry

    def _release(self, entry: list[float] | None) -> None:
        self._requests_in_flight -= 1
        self._in_flight.release()
        self._settle(entry)

    def _settle(self, entry: list[float] | None) -> None:
        if entry is not None and self._points is not None:
            self._points.settle(entry)

    def stop_admitting(self) -> None:
        """The run is stopping: what waits for its turn is not sent (requests under way are)."""
        if self._closing.is_set():
            return
        self._closing.set()
        # a rate-limit wait cut short counts what was waited, not what was planned
        self.stats.wait_seconds -= max(0.0, self._counted_until - self._clock())

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` for a turn; NotAdmitted as soon as the pacer stops admitting."""
        if seconds > 0 and not self._closing.is_set():
            with anyio.move_on_after(seconds):
                await self._closing.wait()
        if self._closing.is_set():
            raise NotAdmitted

    def pause(self, seconds: float, reason: str) -> None:
        """Hold every request of this token for `seconds` (GitHub signalled a limit)."""
        now = self._clock()
        until = now + seconds
        if until <= self._paused_until:
            return
        already_paused = self._paused_until > now
        self._paused_until = until
        if not already_paused:
            self._note_wait(reason, seconds)

    def observe(self, rate: RateLimit | None) -> None:
        """Learn the primary budget from an answer's headers.

        Answers arrive out of order; within one window GitHub's `used` only grows, so the
        answer with the highest `used` is the latest word (a 304, which GitHub does not
        charge, leaves it as it was). A later reset starts a new window.
        """
        if rate is None:
            return
        current = self._rate
        if current is None or rate.reset_at > current.reset_at or (
                rate.reset_at == current.reset_at and rate.used >= current.used):
            self._rate = rate

    @property
    def rate_limit(self) -> RateLimit | None:
        return self._rate

    @property
    def pacing(self) -> bool:
        """Requests are waiting for room under the points-per-minute budget right now."""
        return (self._points is not None and not self._closing.is_set()
                and self._points.holding_until > time.monotonic())

    @property
    def paced_seconds(self) -> float:
        return self._points.held_seconds if self._points is not None else 0.0

    @property
    def paused_until(self) -> float:
        """Epoch seconds until which requests are held for a rate limit (past: not held)."""
        if self._closing.is_set():
            return 0.0
        return max(self._paused_until, self._next_send_at if self._spreading_until else 0.0)

    async def _respect_pause(self) -> None:
        while (delay := self._paused_until - self._clock()) > 0:
            await self.sleep(delay)

    async def _respect_primary(self) -> None:
        rate = self._rate
        if rate is None:
            return
        now = self._clock()
        left = rate.reset_at - now
        if left <= 0:
            return
        # What GitHub last said, less what is on its way there since.
        remaining = rate.remaining - self._requests_in_flight
        if remaining <= 0:
            if not self._wait_for_reset:
                raise BudgetSpent(rate.reset_at)
            self.pause(left + 1.0, "primary rate limit")
            await self._respect_pause()
            return
        if self._wait_for_reset and remaining < rate.limit * _SLOW_DOWN_BELOW:
            # Spread what is left over the time left, one request after another.
            if self._spreading_until != rate.reset_at:
                self._spreading_until = rate.reset_at
                self._note_wait(f"primary budget low ({rate.remaining} left): spreading "
                                "requests until the reset", left)
            send_at = max(now, self._next_send_at)
            self._next_send_at = send_at + left / max(remaining, 1)
            await self.sleep(send_at - now)

    def _note_wait(self, reason: str, seconds: float) -> None:
        self.stats.waits += 1
        self.stats.wait_seconds += seconds
        self._counted_until = max(self._counted_until, self._clock() + seconds)
        log.warning("rate_limit_wait", reason=reason, wait_s=round(seconds, 3),
                    until=time.strftime("%H:%M:%S", time.localtime(self._clock() + seconds)))
        if self._on_wait is not None:
            self._on_wait(reason, seconds)

