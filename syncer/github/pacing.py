"""Stay under GitHub's limits before GitHub has to say so, and learn when it does.

GitHub's guidance ("Best practices for using the REST API"), which its own SDK follows by
default (octokit's plugin-throttling): avoid concurrent requests; wait at least one second
between writes; on a limit answer honour retry-after, else wait for the reset when the budget
is spent, else at least a minute, and back off. So one Pacer per token sends:

- writes (POST, PATCH, PUT, DELETE) one at a time, `writes_per_minute` apart (default 60),
- at most 10 reads at once (both lifted with the write pace), and at most `concurrency`
  requests at once in all,
- within a points budget per sliding minute (GET 1 point, writes 5: GitHub's secondary limit),
- nothing while GitHub's signalled pause lasts; and after each secondary-limit signal at half
  the pace it had (never below one write per 10 s), recovering slowly after a quiet period,
- spread over what is left of the hour when the primary budget runs low.

What several processes must agree on (the sliding window, the last write, the pause, the
lowered pace) lives in a Ledger: in memory for one process, or in a small file shared by every
syncer process using the same token on the same host (`FileLedger`). The decisions on it are
pure functions (`admission_delay`, `recovered`) over plain data, in pacing_rules.py; the ledgers
are in ledger.py.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio
import structlog

from ..core.limits import DEFAULT_CONCURRENCY, MAX_CONCURRENCY
from .ledger import Ledger, MemoryLedger
from .pacing_rules import (
    DEFAULT_POINTS_PER_MINUTE,
    DEFAULT_WRITES_PER_MINUTE,
    READS_IN_FLIGHT,
    SLOWDOWN,
    WRITE_METHODS,
    LedgerState,
    Pace,
    Sent,
    admission_delay,
    answer,
    forget_old,
    next_write_at,
    recovered,
    request_points,
)
from .sansio import RateLimit

_SLOW_DOWN_BELOW = 0.10  # spread the last 10% of the primary budget until its reset

log = structlog.get_logger("syncer.pacing")

# ---- the Pacer


class _Slot:
    """One request's place under a Pacer (a plain class: cheaper per request than a generator
    context manager)."""

    __slots__ = ("_held", "_method", "_pacer")

    def __init__(self, pacer: Pacer, method: str) -> None:
        self._pacer = pacer
        self._method = method
        self._held: _Held | None = None

    async def __aenter__(self) -> None:
        self._held = await self._pacer._admit(self._method)

    async def __aexit__(self, *exc_info: object) -> None:
        if self._held is not None:
            self._pacer._release(self._held)


@dataclass(slots=True)
class _Held:
    entry_id: str | None
    write_turn: bool
    read_place: bool


class NotAdmitted(Exception):
    """The run is stopping (the pacer was closed): this request was never sent."""


class BudgetSpent(Exception):
    """The primary budget is spent and the caller asked not to wait for its reset."""

    def __init__(self, reset_at: float) -> None:
        super().__init__(f"rate limit budget spent until {local_time(reset_at)}")
        self.reset_at = reset_at


@dataclass(frozen=True, slots=True)
class PaceChange:
    """The pace was lowered (a signal) or grew back: when, and to what."""

    at: float  # epoch seconds
    writes_per_minute: float | None
    points_per_minute: float | None
    reason: str


@dataclass
class PacingStats:
    requests: int = 0
    points: int = 0
    waits: int = 0
    wait_seconds: float = 0.0
    changes: list[PaceChange] = field(default_factory=list)


class Pacer:
    def __init__(
        self,
        *,
        points_per_minute: float | None = DEFAULT_POINTS_PER_MINUTE,
        writes_per_minute: float | None = DEFAULT_WRITES_PER_MINUTE,
        concurrency: int = DEFAULT_CONCURRENCY,
        minute: float = 60.0,
        wait_for_reset: bool = True,
        ledger: Ledger | None = None,
        request_timeout: float = 30.0,
        on_wait: Callable[[str, float], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            raise ValueError(f"concurrency must be between 1 and {MAX_CONCURRENCY}")
        self._pace = Pace(writes_per_minute or None, points_per_minute or None)
        self._ledger: Ledger = ledger or MemoryLedger()
        self._in_flight_limit = request_timeout
        self._closing = asyncio.Event()
        # asyncio's own primitives: anyio's CapacityLimiter yields to the loop on every
        # acquire and release, which cost about 10% of syncer's CPU per request (measured).
        self._in_flight = asyncio.Semaphore(concurrency)
        self._reads = asyncio.Semaphore(READS_IN_FLIGHT)
        self._write_turn = asyncio.Lock()
        self._turn = asyncio.Lock()  # first come, first served for the ledger
        self._sent_count = 0
        self._requests_in_flight = 0
        self._local_pause = 0.0  # the pause as this process knows it (for the progress line)
        self._next_send_at = 0.0
        self._spreading_until = 0.0
        self._counted_until = 0.0  # when the waits counted in `stats` would have ended
        self._holding_until = 0.0
        self._held_seconds = 0.0
        self._factor = 1.0
        self._rate: RateLimit | None = None
        self._wait_for_reset = wait_for_reset
        self._on_wait = on_wait
        self._clock = clock
        self.minute = minute
        self.stats = PacingStats()

    @property
    def pace(self) -> Pace:
        """The pace asked for (before any signal lowered it)."""
        return self._pace

    def turn_off(self, reason: str) -> None:
        """No pacing for the rest of the run (GitHub Enterprise Server with limits off)."""
        if self._pace.on:
            self._pace = Pace(None, None)
            log.info("pacing_off", reason=reason)

    def slot(self, method: str) -> _Slot:
        """Hold a place for one request (`async with`): after any pause, within budget and
        concurrency. Once `stop_admitting` is called, a request not yet admitted raises
        NotAdmitted."""
        return _Slot(self, method)

    async def _admit(self, method: str) -> _Held:
        if self._local_pause > self._clock():
            await self._respect_pause()
        if self._rate is not None:
            await self._respect_primary()
        write = method.upper() in WRITE_METHODS
        points = request_points(method)
        paced = self._pace.on
        # GitHub's guidance: writes one at a time and ten reads at once; lifting the write pace
        # (--writes-per-minute 0) leaves the points budget alone
        guided = bool(self._pace.writes_per_minute)
        held = _Held(None, guided and write, guided and not write)
        if held.write_turn:
            await self._write_turn.acquire()
        elif held.read_place:
            await self._reads.acquire()
        try:
            await self._in_flight.acquire()
            try:
                if self._closing.is_set():  # stopped while waiting for a place
                    raise NotAdmitted
                if paced:
                    held.entry_id = await self._reserve(points, write)
            except BaseException:
                self._in_flight.release()
                raise
        except BaseException:
            self._release_turn(held)
            raise
        self.stats.requests += 1
        self.stats.points += points
        self._requests_in_flight += 1
        return held

    async def _reserve(self, points: int, write: bool) -> str:
        async with self._turn:
            while True:
                with self._ledger.transaction() as state:
                    now = self._clock()
                    forget_old(state, now, self.minute, self._in_flight_limit)
                    self._follow(state, now)
                    delay = admission_delay(state, now, points, write, self._pace, self.minute,
                                            self._in_flight_limit)
                    # held by the spacing between writes alone: book that moment now, so that
                    # every run of the token sees it, and wait for it without the turn
                    booked = delay > 0 and write and admission_delay(
                        state, now, points, False, self._pace, self.minute,
                        self._in_flight_limit) <= 0
                    if delay <= 0 or booked:
                        self._sent_count += 1
                        entry_id = f"{os.getpid()}.{id(self)}.{self._sent_count}"
                        at = next_write_at(state, now, self._pace, self.minute) if booked else now
                        state.in_flight.append(Sent(entry_id, at, points))
                        if write:
                            state.last_write_at = at
                        break
                    paused = state.paused_until > now
                await self._hold(delay, paused)
        if booked:
            try:
                await self._hold(delay, False)
            except BaseException:
                with self._ledger.transaction() as state:
                    state.in_flight = [s for s in state.in_flight if s.id != entry_id]
                raise
        return entry_id

    async def _hold(self, delay: float, paused: bool) -> None:
        if paused:  # another syncer run of this token met GitHub's limit: wait it out too
            self.pause(delay, "a rate limit another syncer run of this token met")
            await self._respect_pause()
            return
        began = self._clock()
        self._holding_until = began + delay
        try:
            await self.sleep(delay)
        finally:  # a stop cuts the wait short: count what was waited
            self._held_seconds += self._clock() - began

    def _follow(self, state: LedgerState, now: float) -> None:
        """Note a change of pace (this process's signal, another's, or a recovery)."""
        factor = recovered(state, now, self.minute)
        if factor == self._factor:
            return
        lowered = factor < self._factor
        self._factor = factor
        current = self._pace.scaled(factor)
        change = PaceChange(now, current.writes_per_minute, current.points_per_minute,
                            "a secondary rate limit" if lowered else "quiet since")
        self.stats.changes.append(change)
        (log.warning if lowered else log.info)(
            "pace_lowered" if lowered else "pace_raised",
            writes_per_minute=_rounded(current.writes_per_minute),
            points_per_minute=_rounded(current.points_per_minute))

    def _release(self, held: _Held) -> None:
        self._requests_in_flight -= 1
        self._in_flight.release()
        if held.entry_id is not None:
            with self._ledger.transaction() as state:
                answer(state, held.entry_id, self._clock(), self.minute)
        self._release_turn(held)

    def _release_turn(self, held: _Held) -> None:
        if held.write_turn:
            self._write_turn.release()
        elif held.read_place:
            self._reads.release()

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
        """Hold every request of this token for `seconds` (GitHub signalled a limit), in every
        process that shares the ledger."""
        now = self._clock()
        until = now + seconds
        if until <= self._local_pause:
            return
        already_paused = self._local_pause > now
        self._local_pause = until
        with self._ledger.transaction() as state:
            state.paused_until = max(state.paused_until, until)
        if not already_paused:
            self._note_wait(reason, seconds)

    def slow_down(self) -> None:
        """GitHub signalled a secondary limit syncer did not foresee: a limit it does not
        publish, or another client of the token. Halve the pace for every process of this
        token; it grows back after quiet periods."""
        if not self._pace.on:
            return
        with self._ledger.transaction() as state:
            now = self._clock()
            state.slowed_to = max(self._pace.floor, recovered(state, now, self.minute) * SLOWDOWN)
            state.slowed_at = now
            self._follow(state, now)

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
        """Requests are waiting for room under the pace right now."""
        return not self._closing.is_set() and self._holding_until > self._clock()

    @property
    def paced_seconds(self) -> float:
        return self._held_seconds

    @property
    def current_pace(self) -> Pace:
        """The pace now, after any signal lowered it."""
        return self._pace.scaled(self._factor)

    @property
    def paused_until(self) -> float:
        """Epoch seconds until which requests are held for a rate limit (past: not held)."""
        if self._closing.is_set():
            return 0.0
        return max(self._local_pause, self._next_send_at if self._spreading_until else 0.0)

    async def _respect_pause(self) -> None:
        while (delay := self._local_pause - self._clock()) > 0:
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
                    until=local_time(self._clock() + seconds))
        if self._on_wait is not None:
            self._on_wait(reason, seconds)


def local_time(epoch: float) -> str:
    """A moment for people, with its date and zone: '2026-12-06 00:36:04 UTC'."""
    return time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(epoch))


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
