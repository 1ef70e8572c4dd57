"""GitHub's rate limits, per token: the primary hourly budget and the secondary limits.

"Token" is the budget's key (``Principal.limit_key``): a fixed token, an installation (all
its installation tokens share one budget) or an App (its JWTs).

Pure bookkeeping over an injected monotonic clock; the HTTP layer asks ``admit`` before
handling a request and ``release`` after answering it.

Choices where GitHub is not documented:
- A request refused by a limit is not charged (neither points nor primary budget), so a
  ``retry-after`` is exact: waiting that long and retrying alone succeeds.
- Conditional requests answered 304 do not count against the primary budget (documented);
  they do cost secondary points (stricter reading).
- A concurrency violation carries ``retry-after`` of one (scaled) minute; a points violation
  carries the exact time until enough points leave the sliding window (at least 1 s).
- With ``primary_limit=None`` the headers describe a budget that never shrinks
  (limit 5000, remaining 5000, used 0).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from .rules import ApiError

UNLIMITED_REPORTED: Final = 5000
WRITE_METHODS: Final = frozenset({"PUT", "POST", "PATCH", "DELETE"})
RATE_DOCS: Final = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"


class LimitExceeded(ApiError):
    """A 403 for a rate limit; ``violation`` names it for ``FakeHub.violations``."""

    def __init__(self, violation: str, message: str, docs: str, headers: dict[str, str]) -> None:
        super().__init__(403, message, documentation_url=docs, headers=headers)
        self.violation = violation


@dataclass(frozen=True, slots=True)
class Limits:
    """Rate limits to enforce; all off by default. ``time_scale=60``: a minute lasts 1 s."""

    primary_limit: int | None = None
    primary_remaining: int | None = None
    primary_reset_seconds: float = 3600.0
    points_per_minute: int | None = None
    max_concurrent: int | None = None
    time_scale: float = 1.0

    def __post_init__(self) -> None:
        if self.time_scale <= 0:
            raise ValueError("time_scale must be positive")
        if self.primary_reset_seconds <= 0:
            raise ValueError("primary_reset_seconds must be positive")

    @property
    def effective_primary_limit(self) -> int | None:
        """``primary_remaining`` alone implies GitHub's usual 5000 requests per window."""
        if self.primary_limit is None and self.primary_remaining is not None:
            return UNLIMITED_REPORTED
        return self.primary_limit

    @property
    def window(self) -> float:
        """The secondary sliding window in real seconds."""
        return 60.0 / self.time_scale

    @property
    def primary_window(self) -> float:
        return self.primary_reset_seconds / self.time_scale


def points_for(method: str) -> int:
    """GET/HEAD/OPTIONS cost 1 point, PUT/POST/PATCH/DELETE cost 5."""
    return 5 if method in WRITE_METHODS else 1


@dataclass(slots=True)
class RateView:
    """What the ``x-ratelimit-*`` headers say."""

    limit: int
    remaining: int
    used: int
    reset: int  # epoch seconds

    def headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-used": str(self.used),
            "x-ratelimit-reset": str(self.reset),
            "x-ratelimit-resource": "core",
        }


@dataclass(slots=True)
class _TokenState:
    window_start: float  # monotonic
    window_start_wall: float
    used: int = 0
    first_window: bool = True
    points: deque[tuple[float, int]] = field(default_factory=deque)
    points_sum: int = 0
    in_flight: int = 0


@dataclass(frozen=True, slots=True)
class Admission:
    """A request let through; ``charged`` tells whether it took from the primary budget."""

    token: str
    charged: bool


class RateLimiter:
    """Per-token primary budget, sliding-window points and concurrency."""

    def __init__(
        self,
        limits: Limits,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.limits = limits
        self._monotonic = monotonic
        self._wall = wall
        self._tokens: dict[str, _TokenState] = {}
        self._lock = threading.Lock()  # one hub may be served from several threads

    # ---- state

    def _state(self, token: str) -> _TokenState:
        now = self._monotonic()
        state = self._tokens.get(token)
        if state is None:
            state = _TokenState(now, self._wall())
            self._tokens[token] = state
        elif now - state.window_start >= self.limits.primary_window:
            elapsed_windows = (now - state.window_start) // self.limits.primary_window
            shift = elapsed_windows * self.limits.primary_window
            state.window_start += shift
            state.window_start_wall += shift
            state.used = 0
            state.first_window = False
        return state

    def _budget(self, state: _TokenState) -> int | None:
        lim = self.limits
        limit = lim.effective_primary_limit
        if limit is None:
            return None
        if state.first_window and lim.primary_remaining is not None:
            return min(limit, max(0, lim.primary_remaining))
        return limit

    def view(self, token: str | None) -> RateView:
        """The rate-limit headers for ``token`` (None: an unauthenticated caller)."""
        if token is None:
            return RateView(60, 60, 0, math.ceil(self._wall() + 3600))
        with self._lock:
            return self._view(self._state(token))

    def _view(self, state: _TokenState) -> RateView:
        reset = math.ceil(state.window_start_wall + self.limits.primary_window)
        limit = self.limits.effective_primary_limit
        if limit is None:
            return RateView(UNLIMITED_REPORTED, UNLIMITED_REPORTED, 0, reset)
        budget = self._budget(state)
        assert budget is not None
        remaining = max(0, budget - state.used)
        return RateView(limit, remaining, limit - remaining, reset)

    # ---- admission

    def admit(self, token: str, method: str, *, counts_primary: bool) -> tuple[Admission, RateView]:
        """Let a request in or raise the 403 GitHub would answer (with headers attached).

        Returns the admission and the headers to send (after charging).
        """
        with self._lock:
            return self._admit(token, method, counts_primary)

    def _admit(self, token: str, method: str, counts_primary: bool) -> tuple[Admission, RateView]:
        state = self._state(token)
        lim = self.limits
        budget = self._budget(state)
        if counts_primary and budget is not None and state.used >= budget:
            raise self._primary_exceeded(state)
        if lim.max_concurrent is not None and state.in_flight >= lim.max_concurrent:
            raise self._secondary(state, "secondary_concurrency", lim.window)
        cost = points_for(method)
        if lim.points_per_minute is not None:
            wait = self._points_wait(state, cost, lim.points_per_minute)
            if wait is not None:
                raise self._secondary(state, "secondary_points", wait)
            state.points.append((self._monotonic(), cost))
            state.points_sum += cost
        state.in_flight += 1
        if counts_primary:
            state.used += 1
        return Admission(token, counts_primary), self._view(state)

    def release(self, admission: Admission, *, refund: bool) -> RateView:
        """The request is answered; ``refund`` gives back its primary charge (a 304)."""
        with self._lock:
            state = self._state(admission.token)
            state.in_flight = max(0, state.in_flight - 1)
            if refund and admission.charged and state.used > 0:
                state.used -= 1
            return self._view(state)

    def _points_wait(self, state: _TokenState, cost: int, allowed: int) -> float | None:
        now = self._monotonic()
        window = self.limits.window
        points = state.points
        while points and points[0][0] <= now - window:
            state.points_sum -= points.popleft()[1]
        if state.points_sum + cost <= allowed:
            return None
        excess = state.points_sum + cost - allowed
        freed = 0
        for stamp, pts in points:
            freed += pts
            if freed >= excess:
                return stamp + window - now
        return window

    # ---- refusals

    def _primary_exceeded(self, state: _TokenState) -> ApiError:
        view = self._view(state)
        view.remaining = 0
        return LimitExceeded(
            "primary",
            "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for "
            "help, please include the request ID.",
            RATE_DOCS + "#about-the-primary-rate-limit",
            view.headers(),
        )

    def _secondary(self, state: _TokenState, kind: str, wait: float) -> ApiError:
        retry_after = max(1, math.ceil(wait - 1e-9))
        headers = self._view(state).headers()
        headers["retry-after"] = str(retry_after)
        return LimitExceeded(
            kind,
            "You have exceeded a secondary rate limit. Please wait a few minutes before you "
            "try again. If you reach out to GitHub Support for help, please include the "
            "request ID.",
            RATE_DOCS + "#about-secondary-rate-limits",
            headers,
        )
