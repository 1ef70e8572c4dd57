"""Proactive pacing and the retry policy: pure arithmetic plus a few real waits."""

import random
import time

import anyio
import pytest

from syncer.github import errors
from syncer.github.pacing import BudgetSpent, NotAdmitted, Pacer, request_points
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
