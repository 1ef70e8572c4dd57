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
pure functions (`admission_delay`, `recovered`) over plain data.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import anyio
import structlog

from .sansio import RateLimit

MAX_CONCURRENCY = 100  # GitHub's secondary limit on requests in flight
DEFAULT_POINTS_PER_MINUTE = 870  # a margin under GitHub's 900
DEFAULT_WRITES_PER_MINUTE = 60  # GitHub: "wait at least one second between each"
READS_IN_FLIGHT = 10  # octokit's plugin-throttling default
MIN_WRITES_PER_MINUTE = 6  # however often GitHub signals, never slower than one write per 10 s
SLOWDOWN = 0.5  # each secondary-limit signal halves the pace
RECOVERY = 1.25  # ... which grows back by this much per quiet period
QUIET_MINUTES = 30  # minutes without a signal before the pace grows back a step
_SLOW_DOWN_BELOW = 0.10  # spread the last 10% of the primary budget until its reset

log = structlog.get_logger("syncer.pacing")

WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})


def request_points(method: str) -> int:
    return 1 if method.upper() in ("GET", "HEAD", "OPTIONS") else 5


# ---- the pure part: what the ledger holds, and when the next request may go


@dataclass(frozen=True, slots=True)
class Pace:
    """The pace asked for; None turns that part off."""

    writes_per_minute: float | None = DEFAULT_WRITES_PER_MINUTE
    points_per_minute: float | None = DEFAULT_POINTS_PER_MINUTE

    @property
    def on(self) -> bool:
        return bool(self.writes_per_minute or self.points_per_minute)

    @property
    def floor(self) -> float:
        """The lowest factor signals may bring the pace to."""
        if self.writes_per_minute:
            return min(1.0, MIN_WRITES_PER_MINUTE / self.writes_per_minute)
        return 0.1

    def scaled(self, factor: float) -> Pace:
        return Pace(self.writes_per_minute and self.writes_per_minute * factor,
                    self.points_per_minute and self.points_per_minute * factor)


@dataclass(slots=True)
class Sent:
    """One request sent and not yet answered."""

    id: str
    sent_at: float
    points: int


@dataclass(slots=True)
class LedgerState:
    """What the runs of one token agree on. Answered requests are summed per slice of the
    minute (a sixtieth), dated by the slice's end: GitHub dates a request when it arrives,
    after our send, and a slice's end is never earlier than that."""

    in_flight: list[Sent] = field(default_factory=list)
    answered: list[list[float]] = field(default_factory=list)  # [slice end, points], in order
    last_write_at: float = -math.inf
    paused_until: float = 0.0  # GitHub signalled a limit: nothing is sent before this
    slowed_to: float = 1.0  # the pace's factor after the last signal ...
    slowed_at: float = 0.0  # ... and when that signal came


def recovered(state: LedgerState, now: float, minute: float) -> float:
    """The pace's factor now: lowered by signals, grown back a step per quiet period."""
    if state.slowed_to >= 1.0:
        return 1.0
    steps = max(0, int((now - state.slowed_at) // (QUIET_MINUTES * minute)))
    return min(1.0, state.slowed_to * RECOVERY ** steps)


def answer(state: LedgerState, entry_id: str, now: float, minute: float) -> None:
    """The request `entry_id` was answered at `now`: its points move to now's slice."""
    for index, sent in enumerate(state.in_flight):
        if sent.id == entry_id:
            del state.in_flight[index]
            end = math.ceil(now / (minute / 60)) * (minute / 60)
            if state.answered and state.answered[-1][0] >= end:
                state.answered[-1][1] += sent.points
            else:
                state.answered.append([end, float(sent.points)])
            return


def forget_old(state: LedgerState, now: float, minute: float, in_flight_limit: float) -> None:
    """Drop what has left the sliding window. A request never answered (its process was
    killed) counts as answered when its timeout ran out."""
    horizon = now - minute
    while state.answered and state.answered[0][0] <= horizon:
        del state.answered[0]
    state.in_flight = [s for s in state.in_flight if s.sent_at + in_flight_limit > horizon]


def next_write_at(state: LedgerState, now: float, pace: Pace, minute: float) -> float:
    """When the spacing between writes lets the next one go (-inf: at once)."""
    writes = pace.scaled(recovered(state, now, minute)).writes_per_minute
    return state.last_write_at + minute / writes if writes else -math.inf


def admission_delay(state: LedgerState, now: float, points: int, write: bool, pace: Pace,
                    minute: float, in_flight_limit: float) -> float:
    """Seconds until a request of `points` may be sent; 0 or less: now.

    The state must hold only what is still in the window (see forget_old).
    """
    delay = state.paused_until - now
    current = pace.scaled(recovered(state, now, minute))
    if write and current.writes_per_minute:
        delay = max(delay, next_write_at(state, now, pace, minute) - now)
    if current.points_per_minute:
        in_window = (sum(p for _, p in state.answered) + sum(s.points for s in state.in_flight))
        excess = in_window + points - current.points_per_minute
        if excess > 0:
            # answered requests leave the window in order of their dates, as do those whose
            # process died (dated when their timeout ran out); then those still in flight
            leaving = sorted([(end, p) for end, p in state.answered]
                             + [(s.sent_at + in_flight_limit, s.points) for s in state.in_flight
                                if s.sent_at + in_flight_limit <= now])
            for dated, leaving_points in leaving:
                excess -= leaving_points
                if excess <= 0:
                    return max(delay, dated + minute - now)
            return max(delay, minute / 60)  # waits on answers: look again soon
    return delay


# ---- where the ledger lives


class Ledger(Protocol):
    def transaction(self) -> contextlib.AbstractContextManager[LedgerState]:
        """The state, read and (on leaving without an error) kept, with no other process
        between the two."""
        ...


class MemoryLedger:
    """The ledger of one process alone."""

    def __init__(self) -> None:
        self._state = LedgerState()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[LedgerState]:
        yield self._state


class FileLedger:
    """The ledger in a file that every syncer process using one token on one host shares,
    read and rewritten in place under an flock. It holds times and point counts only: no
    token, no value."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[LedgerState]:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            state = _parsed(os.read(fd, 1 << 20), self.path)
            yield state
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, _serialized(state))
        finally:
            os.close(fd)  # closing releases the lock


def _parsed(data: bytes, path: Path) -> LedgerState:
    if not data:
        return LedgerState()
    try:
        fields = json.loads(data)
        return LedgerState(
            in_flight=[Sent(str(i), float(t), int(p)) for i, t, p in fields["in_flight"]],
            answered=[[float(end), float(p)] for end, p in fields["answered"]],
            last_write_at=float(fields["last_write_at"]),
            paused_until=float(fields["paused_until"]),
            slowed_to=float(fields["slowed_to"]),
            slowed_at=float(fields["slowed_at"]),
        )
    except (ValueError, KeyError, TypeError):
        # a process killed while writing it: start afresh (the window is one minute)
        log.warning("pace_ledger_unreadable", path=str(path))
        return LedgerState()


def _serialized(state: LedgerState) -> bytes:
    return json.dumps({
        "in_flight": [[s.id, s.sent_at, s.points] for s in state.in_flight],
        "answered": state.answered,
        "last_write_at": state.last_write_at if state.last_write_at > -math.inf else 0.0,
        "paused_until": state.paused_until, "slowed_to": state.slowed_to,
        "slowed_at": state.slowed_at}, separators=(",", ":")).encode()


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
        concurrency: int = 16,
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
