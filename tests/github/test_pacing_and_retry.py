"""Proactive pacing and the retry policy: pure arithmetic plus a few real waits."""

import contextlib
import random
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from syncer.github import errors
from syncer.github.ledger import FileLedger
from syncer.github.pacing import BudgetSpent, NotAdmitted, Pacer
from syncer.github.pacing_rules import (
    LedgerState,
    Pace,
    Sent,
    admission_delay,
    answer,
    forget_old,
    recovered,
    request_points,
)
from syncer.github.retry import RetryPolicy, should_retry, wait_seconds
from syncer.github.sansio import RateLimit


def test_points_follow_githubs_costs() -> None:
    """GET/HEAD/OPTIONS cost 1 point, writes 5."""
    assert [request_points(m) for m in ("GET", "HEAD", "PUT", "DELETE", "POST")] == [1, 1, 5, 5, 5]


@pytest.mark.anyio
async def test_pacer_never_exceeds_budget_in_any_sliding_minute() -> None:
    """Sends admitted by the pacer, checked against every sliding window of a compressed minute."""
    minute = 0.5  # seconds
    budget = 400  # points per (compressed) minute
    pacer = Pacer(points_per_minute=budget, concurrency=50, minute=minute)
    sends: list[tuple[float, int]] = []

    async def one(method: str) -> None:
        async with pacer.slot(method):
            sends.append((time.monotonic(), request_points(method)))

    async with anyio.create_task_group() as tg:
        for i in range(300):
            tg.start_soon(one, "PUT" if i % 2 else "GET")
    worst = max(sum(p for t, p in sends if start <= t < start + minute) for start, _ in sends)
    assert worst <= budget
    assert pacer.stats.points == 150 * 1 + 150 * 5


@pytest.mark.anyio
async def test_pacer_caps_requests_in_flight() -> None:
    """No more than `concurrency` requests hold a slot at once."""
    pacer = Pacer(points_per_minute=None, concurrency=3)
    in_flight, peak = 0, 0

    async def one() -> None:
        nonlocal in_flight, peak
        async with pacer.slot("GET"):
            in_flight += 1
            peak = max(peak, in_flight)
            await anyio.sleep(0.01)
            in_flight -= 1

    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(one)
    assert peak == 3


@pytest.mark.anyio
async def test_spent_primary_budget_raises_when_not_waiting() -> None:
    """With wait_for_reset off, a known-spent budget stops before sending."""
    pacer = Pacer(points_per_minute=None, wait_for_reset=False)
    pacer.observe(RateLimit(5000, 0, 5000, time.time() + 60))
    with pytest.raises(BudgetSpent):
        async with pacer.slot("GET"):
            pass


@pytest.mark.anyio
async def test_spent_primary_budget_waits_for_reset() -> None:
    """With wait_for_reset on, the pacer holds requests until the reset and counts the wait."""
    pacer = Pacer(points_per_minute=None)
    pacer.observe(RateLimit(5000, 0, 5000, time.time() + 0.2))
    started = time.monotonic()
    async with pacer.slot("GET"):
        pass
    assert time.monotonic() - started >= 0.2
    assert pacer.stats.waits == 1


def test_secondary_wait_honours_retry_after_then_a_minute() -> None:
    """retry-after when given; else at least the policy's minute."""
    policy = RetryPolicy(secondary_default=60.0)
    rng = random.Random(1)
    hinted = errors.SecondaryRateLimited(403, "m", retry_after=7.0)
    assert wait_seconds(hinted, 1, policy, rng=rng) == 7.0
    unhinted = errors.SecondaryRateLimited(403, "m", retry_after=None)
    assert wait_seconds(unhinted, 1, policy, rng=rng) == 60.0
    assert wait_seconds(unhinted, 3, policy, rng=rng) > 60.0


def test_primary_wait_is_until_reset() -> None:
    """A spent primary budget waits until its reset, plus a second of margin."""
    exc = errors.RateLimited(403, "m", reset_at=1000.0)
    assert wait_seconds(exc, 1, RetryPolicy(), clock=lambda: 990.0) == 11.0


def test_transient_backoff_grows_and_is_bounded() -> None:
    """Exponential backoff with jitter, capped."""
    policy = RetryPolicy(backoff_initial=0.5, backoff_max=4.0)
    exc = errors.ServerError(502, "m")
    waits = [wait_seconds(exc, n, policy, rng=random.Random(0)) for n in range(1, 8)]
    assert waits[0] <= 0.5 and waits[2] > waits[0] and max(waits) <= 4.0


def test_what_is_retried() -> None:
    """Transient faults and limits are retried; 4xx verdicts are not; no-wait skips primary waits."""
    policy = RetryPolicy()
    assert should_retry(errors.TransportError("x"), policy)
    assert should_retry(errors.ServerError(503, "m"), policy)
    assert not should_retry(errors.AuthFailed(401, "m"), policy)
    assert not should_retry(errors.NotFound(404, "m"), policy)
    assert not should_retry(errors.TLSError("x"), policy)
    limited = errors.RateLimited(403, "m", reset_at=0)
    assert should_retry(limited, policy)
    assert not should_retry(limited, RetryPolicy(wait_for_reset=False))


@pytest.mark.anyio
async def test_budget_follows_github_not_a_local_countdown() -> None:
    """The primary budget is what GitHub last said (highest `used` in the window), not a count
    kept here: answers reporting a full budget never make the pacer slow down."""
    pacer = Pacer(points_per_minute=None)
    reset = time.time() + 3600
    for _ in range(6000):
        async with pacer.slot("GET"):
            pacer.observe(RateLimit(5000, 5000, 0, reset))  # e.g. limits off, or 304s
    assert pacer.stats.waits == 0
    pacer.observe(RateLimit(5000, 4000, 1000, reset))
    pacer.observe(RateLimit(5000, 4100, 900, reset))  # an older answer, arriving late
    assert pacer.rate_limit is not None and pacer.rate_limit.remaining == 4000


@pytest.mark.anyio
async def test_paced_time_counts_what_was_waited_when_a_stop_cuts_it_short() -> None:
    """Requests waiting for room when the run stops are not sent; the summary's paced time is
    the time they waited, not the minute each would have waited."""
    pacer = Pacer(points_per_minute=5, concurrency=10, minute=60.0)
    async with pacer.slot("PUT"):  # the minute's budget, all at once
        pass

    async def waiting() -> None:
        with pytest.raises(NotAdmitted):
            async with pacer.slot("PUT"):
                pass

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(waiting)
        while not pacer.pacing:  # until the first of them waits for room
            await anyio.sleep(0)
        pacer.stop_admitting()
    assert pacer.paced_seconds < 1.0
    assert not pacer.pacing


@pytest.mark.anyio
async def test_a_rate_limit_wait_cut_short_by_a_stop_counts_what_was_waited() -> None:
    """A stop during GitHub's pause sends nothing more; the summary's rate-limit wait is the
    time waited, not the pause GitHub asked for, and the progress line shows no pause."""
    pacer = Pacer(points_per_minute=None)
    pacer.pause(600.0, "secondary rate limit")

    async def waiting() -> None:
        with pytest.raises(NotAdmitted):
            async with pacer.slot("PUT"):
                pass

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiting)
        await anyio.sleep(0)
        pacer.stop_admitting()
    assert pacer.stats.waits == 1
    assert pacer.stats.wait_seconds < 1.0
    assert pacer.paused_until == 0.0


# ---- GitHub's guidance: writes one at a time, a second apart; adaptive; shared by processes


def _state(*sent: Sent, **kw: float) -> LedgerState:
    return LedgerState(list(sent), **kw)


def test_a_write_waits_for_the_interval_after_the_last_one_a_read_does_not() -> None:
    """At 60 writes a minute a write goes a second after the last; a read is not held."""
    state = _state(last_write_at=100.0)
    pace = Pace(writes_per_minute=60, points_per_minute=870)
    assert admission_delay(state, 100.25, 5, True, pace, 60.0, 30.0) == pytest.approx(0.75)
    assert admission_delay(state, 100.25, 1, False, pace, 60.0, 30.0) <= 0
    assert admission_delay(state, 101.0, 5, True, pace, 60.0, 30.0) <= 0


def test_points_wait_until_enough_answered_requests_leave_the_window() -> None:
    """Over the points budget, a request waits until the earliest-answered points leave the
    sliding minute; one still in flight is looked at again shortly."""
    pace = Pace(writes_per_minute=None, points_per_minute=10)
    answered = _state(answered=[[1.0, 5.0], [3.0, 5.0]])
    assert admission_delay(answered, 10.0, 5, False, pace, 60.0, 30.0) == pytest.approx(51.0)
    in_flight = _state(Sent("a", 9.0, 5), answered=[[3.0, 5.0]])
    assert admission_delay(in_flight, 10.0, 6, False, pace, 60.0, 30.0) == pytest.approx(1.0)


def test_answers_are_counted_in_slices_of_the_minute_dated_by_their_end() -> None:
    """An answered request's points join the sixtieth of the minute it was answered in,
    dated by that slice's end: never earlier than GitHub dates it."""
    state = _state(Sent("a", 0.2, 5), Sent("b", 0.4, 1))
    answer(state, "a", 0.5, 60.0)
    answer(state, "b", 0.9, 60.0)
    assert state.answered == [[1.0, 6.0]] and state.in_flight == []


def test_a_killed_runs_unanswered_requests_leave_the_window_after_their_timeout() -> None:
    """A request whose process died is never answered: it counts as answered when its timeout
    ran out, so it holds no later run back for more than that and one window."""
    state = _state(Sent("dead", 0.0, 870))
    pace = Pace(writes_per_minute=None, points_per_minute=870)
    assert admission_delay(state, 40.0, 1, False, pace, 60.0, 30.0) == pytest.approx(50.0)
    forget_old(state, 89.0, 60.0, 30.0)
    assert state.in_flight
    forget_old(state, 90.5, 60.0, 30.0)
    assert not state.in_flight


def test_github_pause_holds_every_request() -> None:
    """While GitHub's signalled pause lasts, nothing is admitted, reads included."""
    state = _state(paused_until=130.0)
    assert admission_delay(state, 100.0, 1, False, Pace(), 60.0, 30.0) == pytest.approx(30.0)


def test_each_signal_halves_the_pace_down_to_one_write_per_ten_seconds_then_it_recovers() -> None:
    """A signal halves writes and points for the rest of the run, never below 6 writes a
    minute; after each quiet period of thirty minutes the pace grows back by a quarter."""
    pace = Pace(writes_per_minute=60, points_per_minute=870)
    assert pace.floor == pytest.approx(0.1)
    state = _state(slowed_to=0.5, slowed_at=1000.0)
    assert recovered(state, 1000.0 + 1799, 60.0) == 0.5
    assert recovered(state, 1000.0 + 1800, 60.0) == pytest.approx(0.625)
    assert recovered(state, 1000.0 + 4 * 1800, 60.0) == 1.0
    halved = admission_delay(_state(last_write_at=0.0, slowed_to=0.5, slowed_at=0.0), 0.0, 5,
                             True, pace, 60.0, 30.0)
    assert halved == pytest.approx(2.0)


@pytest.mark.anyio
async def test_a_secondary_signal_lowers_the_pace_and_says_so() -> None:
    """slow_down halves the pace at once, to no lower than the floor, and records each change
    for the summary and the progress line."""
    pacer = Pacer(writes_per_minute=60, points_per_minute=870)
    for _ in range(6):
        pacer.slow_down()
    assert pacer.current_pace.writes_per_minute == pytest.approx(6.0)
    assert [round(c.writes_per_minute or 0) for c in pacer.stats.changes] == [30, 15, 8, 6]


class RecordingLedger(FileLedger):
    """A shared ledger file that notes when each write was admitted (the ledger's own clock)."""

    def __init__(self, path: Path, admitted: list[float]) -> None:
        super().__init__(path)
        self.admitted = admitted

    @contextlib.contextmanager
    def transaction(self) -> Iterator[LedgerState]:
        with super().transaction() as state:
            before = state.last_write_at
            yield state
            if state.last_write_at != before:
                self.admitted.append(state.last_write_at)


@pytest.mark.anyio
async def test_writes_go_one_at_a_time_and_reads_at_most_ten_at_once(tmp_path) -> None:
    """GitHub's guidance, as octokit's plugin-throttling applies it: one write in flight,
    writes at least the interval apart, at most ten reads in flight."""
    admitted: list[float] = []
    pacer = Pacer(writes_per_minute=600, points_per_minute=None, concurrency=50,
                  ledger=RecordingLedger(tmp_path / "ledger.json", admitted))
    in_flight = {"GET": 0, "PUT": 0}
    peak = {"GET": 0, "PUT": 0}

    async def one(method: str) -> None:
        async with pacer.slot(method):
            in_flight[method] += 1
            peak[method] = max(peak[method], in_flight[method])
            await anyio.sleep(0.005)
            in_flight[method] -= 1

    async with anyio.create_task_group() as tg:
        for i in range(60):
            tg.start_soon(one, "PUT" if i % 3 == 0 else "GET")
    assert peak == {"GET": 10, "PUT": 1}
    assert len(admitted) == 20
    assert min(b - a for a, b in zip(admitted, admitted[1:], strict=False)) >= 0.1 - 1e-6  # epoch floats


@pytest.mark.anyio
async def test_two_pacers_on_one_ledger_file_share_one_budget(tmp_path) -> None:
    """Two runs of one token (here two Pacers on the same ledger file, as two processes have)
    space their writes together, and a pause one of them learns holds the other."""
    path = tmp_path / "pace" / "token.json"
    admitted: list[float] = []
    pacers = [Pacer(writes_per_minute=600, points_per_minute=None,
                    ledger=RecordingLedger(path, admitted)) for _ in range(2)]

    async def write(pacer: Pacer) -> None:
        async with pacer.slot("PUT"):
            pass

    async with anyio.create_task_group() as tg:
        for i in range(20):
            tg.start_soon(write, pacers[i % 2])
    assert len(admitted) == 20
    assert min(b - a for a, b in zip(admitted, admitted[1:], strict=False)) >= 0.1 - 1e-6  # epoch floats
    pacers[0].pause(0.3, "secondary rate limit")
    paused_at = time.time()
    await write(pacers[1])
    assert admitted[-1] - paused_at >= 0.3 - 0.01
    assert oct(path.parent.stat().st_mode)[-3:] == "700"
    assert oct(path.stat().st_mode)[-3:] == "600"


def test_a_damaged_ledger_file_starts_afresh(tmp_path) -> None:
    """A ledger file left half-written by a killed process is read as empty, not an error."""
    path = tmp_path / "ledger.json"
    path.write_text('{"in_flight": [["x", 1.0')
    with FileLedger(path).transaction() as state:
        assert state.in_flight == [] and state.answered == []
