"""When the next request may go: the pace asked for, what the runs of one token agree on
(LedgerState), and the pure decisions over it (`admission_delay`, `recovered`). No I/O, no
clock: the Pacer (pacing.py) reads the time and keeps the ledger (ledger.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = [
    "DEFAULT_POINTS_PER_MINUTE", "DEFAULT_WRITES_PER_MINUTE", "MIN_WRITES_PER_MINUTE",
    "QUIET_MINUTES", "READS_IN_FLIGHT", "RECOVERY", "SLOWDOWN", "WRITE_METHODS", "LedgerState",
    "Pace", "Sent", "admission_delay", "answer", "forget_old", "next_write_at", "recovered",
    "request_points",
]

DEFAULT_POINTS_PER_MINUTE = 870  # a margin under GitHub's 900
DEFAULT_WRITES_PER_MINUTE = 60  # GitHub: "wait at least one second between each"
READS_IN_FLIGHT = 10  # octokit's plugin-throttling default
MIN_WRITES_PER_MINUTE = 6  # however often GitHub signals, never slower than one write per 10 s
SLOWDOWN = 0.5  # each secondary-limit signal halves the pace
RECOVERY = 1.25  # ... which grows back by this much per quiet period
QUIET_MINUTES = 30  # minutes without a signal before the pace grows back a step

WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})


def request_points(method: str) -> int:
    return 1 if method.upper() in ("GET", "HEAD", "OPTIONS") else 5


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

