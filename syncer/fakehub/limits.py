"""GitHub's rate limits, per token: the primary hourly budgets and the secondary limits.

"Token" is the budget's key (``Principal.limit_key``): a fixed token, an installation (all
its installation tokens share one budget) or an App (its JWTs).

``Limits()`` is github.com for a personal access token: 5,000 requests an hour (``core``),
a GraphQL budget of its own (5,000 points an hour, ``graphql``), at most 900 REST points a
minute (GET/HEAD/OPTIONS 1, PUT/POST/PATCH/DELETE 5) and 2,000 GraphQL points a minute, at
most 100 requests in flight (REST and GraphQL together). ``Limits.off()`` is GitHub
Enterprise Server with rate limiting disabled (its default): nothing is limited, no answer
carries ``x-ratelimit-*`` headers and ``GET /rate_limit`` answers 404.

Pure bookkeeping over an injected monotonic clock; the HTTP layer asks ``admit`` before
handling a request and ``release`` after answering it.

Choices where GitHub is not documented:
- A request refused by a limit is not charged (neither points, content creation nor the
  primary budget), so a ``retry-after`` is exact: waiting that long and retrying alone
  succeeds.
- Conditional requests answered 304 do not count against the primary budget (documented);
  they do cost secondary points (stricter reading).
- A concurrency violation carries ``retry-after`` of one (scaled) minute; a points or
  content-creation violation the exact time until enough leaves the sliding window (at
  least 1 s).
- A fakehub GraphQL query costs 1 point (primary and secondary): fakehub answers only small
  queries (see ``api.graphql``).
- The content-creation limit (``content_creation_per_minute``; GitHub documents 80 a minute
  and 500 an hour, not whether secret writes count) counts every REST PUT/POST/PATCH/DELETE
  of the token in a sliding (scaled) minute. It is off unless set.
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
LIMIT_STATUSES: Final = (403, 429)
CORE: Final = "core"
GRAPHQL: Final = "graphql"

SECONDARY_MESSAGE: Final = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)
CONTENT_CREATION_MESSAGE: Final = (
    "You have exceeded a secondary rate limit and have been temporarily blocked from content "
    "creation. Please retry your request again later."
)
SUPPORT_HINT: Final = (
    "If you reach out to GitHub Support for help, please include the request ID {request_id}."
)


class LimitExceeded(ApiError):
    """A 403 or 429 for a rate limit; ``violation`` names it for ``FakeHub.violations``.

    ``message`` lacks the request id until ``for_request`` adds it, as GitHub's do.
    """

    def __init__(
        self, violation: str, status: int, message: str, docs: str, headers: dict[str, str]
    ) -> None:
        super().__init__(status, message, documentation_url=docs, headers=headers)
        self.violation = violation

    def for_request(self, request_id: str) -> LimitExceeded:
        self.message = f"{self.message} {SUPPORT_HINT.format(request_id=request_id)}"
        return self


@dataclass(frozen=True, slots=True)
class Limits:
    """Rate limits to enforce; GitHub's (github.com, a personal access token) by default.

    ``time_scale=60``: a minute (and an hour) lasts 60 times less, a minute 1 s.
    ``None`` turns one limit off. ``limit_status``: 403 (default) or 429, as GitHub answers
    either. ``retry_after=False``: secondary-limit answers carry no ``retry-after`` (GitHub
    sometimes sends none). ``content_creation_per_minute``: GitHub's content-creation limit
    (GitHub: 80), off by default. ``enabled=False`` (use ``Limits.off()``): Enterprise
    Server with rate limiting disabled.
    """

    primary_limit: int | None = 5000
    primary_remaining: int | None = None
    primary_reset_seconds: float = 3600.0
    points_per_minute: int | None = 900
    max_concurrent: int | None = 100
    time_scale: float = 1.0
    limit_status: int = 403
    retry_after: bool = True
    content_creation_per_minute: int | None = None
    graphql_limit: int | None = 5000
    graphql_points_per_minute: int | None = 2000
    enabled: bool = True

    @classmethod
    def off(cls) -> Limits:
        """GitHub Enterprise Server with rate limiting disabled: no limit, no
        ``x-ratelimit-*`` headers, ``GET /rate_limit`` 404 "Rate limiting is not enabled."."""
        return cls(
            primary_limit=None,
            points_per_minute=None,
            max_concurrent=None,
            graphql_limit=None,
            graphql_points_per_minute=None,
            enabled=False,
        )

    def __post_init__(self) -> None:
        if self.time_scale <= 0:
            raise ValueError("time_scale must be positive")
        if self.primary_reset_seconds <= 0:
            raise ValueError("primary_reset_seconds must be positive")
        if self.limit_status not in LIMIT_STATUSES:
            raise ValueError("limit_status must be 403 or 429")
        for name in _COUNTS:
            value = getattr(self, name)
            if value is not None and value < (0 if name == "primary_remaining" else 1):
                raise ValueError(f"{name} must be positive (None turns it off)")
        if not self.enabled and any(getattr(self, name) is not None for name in _COUNTS):
            raise ValueError("limits that are off (enabled=False) enforce nothing: "
                             "use Limits.off()")

    def primary_for(self, resource: str) -> int | None:
        """The hourly budget of ``resource``; ``primary_remaining`` alone implies GitHub's
        usual 5000 requests (core only)."""
        if resource == GRAPHQL:
            return self.graphql_limit
        if self.primary_limit is None and self.primary_remaining is not None:
            return UNLIMITED_REPORTED
        return self.primary_limit

    def points_for_resource(self, resource: str) -> int | None:
        return self.graphql_points_per_minute if resource == GRAPHQL else self.points_per_minute

    @property
    def window(self) -> float:
        """The secondary sliding window in real seconds."""
        return 60.0 / self.time_scale

    @property
    def primary_window(self) -> float:
        return self.primary_reset_seconds / self.time_scale


_COUNTS: Final = ("primary_limit", "primary_remaining", "points_per_minute", "max_concurrent",
                  "content_creation_per_minute", "graphql_limit", "graphql_points_per_minute")


def points_for(method: str, resource: str = CORE) -> int:
    """REST: GET/HEAD/OPTIONS cost 1 point, PUT/POST/PATCH/DELETE 5; a GraphQL query 1."""
    return 5 if resource == CORE and method in WRITE_METHODS else 1


@dataclass(slots=True)
class RateView:
    """What the ``x-ratelimit-*`` headers say."""

    limit: int
    remaining: int
    used: int
    reset: int  # epoch seconds
    resource: str = CORE

    def headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-used": str(self.used),
            "x-ratelimit-reset": str(self.reset),
            "x-ratelimit-resource": self.resource,
        }

    def as_json(self) -> dict[str, int]:
        """One resource of ``GET /rate_limit``."""
        return {"limit": self.limit, "remaining": self.remaining, "reset": self.reset,
                "used": self.used}


@dataclass(slots=True)
class _Window:
    """One resource's primary budget window."""

    start: float  # monotonic
    start_wall: float
    used: int = 0
    first: bool = True


@dataclass(slots=True)
class _Sliding:
    """Costs within a sliding window (secondary points, content creation)."""

    entries: deque[tuple[float, int]] = field(default_factory=deque)
    total: int = 0

    def wait(self, now: float, window: float, cost: int, allowed: int) -> float | None:
        """None when ``cost`` fits under ``allowed`` now, else the seconds until it does."""
        entries = self.entries
        while entries and entries[0][0] <= now - window:
            self.total -= entries.popleft()[1]
        if self.total + cost <= allowed:
            return None
        excess = self.total + cost - allowed
        freed = 0
        for stamp, spent in entries:
            freed += spent
            if freed >= excess:
                return stamp + window - now
        return window

    def add(self, now: float, cost: int) -> None:
        self.entries.append((now, cost))
        self.total += cost


@dataclass(slots=True)
class _TokenState:
    windows: dict[str, _Window] = field(default_factory=dict)
    points: dict[str, _Sliding] = field(default_factory=dict)
    creations: _Sliding = field(default_factory=_Sliding)
    in_flight: int = 0


@dataclass(frozen=True, slots=True)
class Admission:
    """A request let through; ``charged`` tells whether it took from the primary budget."""

    token: str
    resource: str
    charged: bool


class RateLimiter:
    """Per-token primary budgets, sliding-window points, content creation and concurrency."""

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

    @property
    def enabled(self) -> bool:
        return self.limits.enabled

    # ---- state

    def _token(self, token: str) -> _TokenState:
        state = self._tokens.get(token)
        if state is None:
            state = self._tokens[token] = _TokenState()
        return state

    def _window(self, state: _TokenState, resource: str) -> _Window:
        now = self._monotonic()
        window = state.windows.get(resource)
        if window is None:
            window = state.windows[resource] = _Window(now, self._wall())
        elif now - window.start >= self.limits.primary_window:
            elapsed_windows = (now - window.start) // self.limits.primary_window
            shift = elapsed_windows * self.limits.primary_window
            window.start += shift
            window.start_wall += shift
            window.used = 0
            window.first = False
        return window

    def _budget(self, window: _Window, resource: str) -> int | None:
        lim = self.limits
        limit = lim.primary_for(resource)
        if limit is None:
            return None
        if resource == CORE and window.first and lim.primary_remaining is not None:
            return min(limit, max(0, lim.primary_remaining))
        return limit

    def view(self, token: str | None, resource: str = CORE) -> RateView | None:
        """The rate-limit headers for ``token`` (None: an unauthenticated caller); None when
        limits are off (no headers at all)."""
        if not self.enabled:
            return None
        if token is None:
            return RateView(60, 60, 0, math.ceil(self._wall() + 3600), resource)
        with self._lock:
            return self._view(self._token(token), resource)

    def overview(self, token: str) -> dict[str, RateView] | None:
        """Every resource's view for ``GET /rate_limit``; None when limits are off."""
        if not self.enabled:
            return None
        with self._lock:
            state = self._token(token)
            return {resource: self._view(state, resource) for resource in (CORE, GRAPHQL)}

    def _view(self, state: _TokenState, resource: str) -> RateView:
        window = self._window(state, resource)
        reset = math.ceil(window.start_wall + self.limits.primary_window)
        limit = self.limits.primary_for(resource)
        if limit is None:
            return RateView(UNLIMITED_REPORTED, UNLIMITED_REPORTED, 0, reset, resource)
        budget = self._budget(window, resource)
        assert budget is not None
        remaining = max(0, budget - window.used)
        return RateView(limit, remaining, limit - remaining, reset, resource)

    # ---- admission

    def admit(
        self, token: str, method: str, *, counts_primary: bool, resource: str = CORE
    ) -> tuple[Admission, RateView | None]:
        """Let a request in or raise the 403/429 GitHub would answer (headers attached).

        Returns the admission and the headers to send (after charging; None when limits
        are off).
        """
        if not self.enabled:
            return Admission(token, resource, False), None
        with self._lock:
            return self._admit(token, method, counts_primary, resource)

    def _admit(
        self, token: str, method: str, counts_primary: bool, resource: str
    ) -> tuple[Admission, RateView]:
        state = self._token(token)
        lim = self.limits
        now = self._monotonic()
        window = self._window(state, resource)
        budget = self._budget(window, resource)
        if counts_primary and budget is not None and window.used >= budget:
            raise self._primary_exceeded(state, resource)
        if lim.max_concurrent is not None and state.in_flight >= lim.max_concurrent:
            raise self._secondary(state, resource, "secondary_concurrency", lim.window)
        cost = points_for(method, resource)
        allowed = lim.points_for_resource(resource)
        points = state.points.setdefault(resource, _Sliding())
        if allowed is not None:
            wait = points.wait(now, lim.window, cost, allowed)
            if wait is not None:
                kind = "secondary_points" if resource == CORE else "secondary_points_graphql"
                raise self._secondary(state, resource, kind, wait)
        creates = resource == CORE and method in WRITE_METHODS
        per_minute = lim.content_creation_per_minute
        if creates and per_minute is not None:
            wait = state.creations.wait(now, lim.window, 1, per_minute)
            if wait is not None:
                raise self._secondary(state, resource, "secondary_content_creation", wait,
                                      CONTENT_CREATION_MESSAGE)
        if allowed is not None:
            points.add(now, cost)
        if creates and per_minute is not None:
            state.creations.add(now, 1)
        state.in_flight += 1
        if counts_primary:
            window.used += 1
        return Admission(token, resource, counts_primary), self._view(state, resource)

    def release(self, admission: Admission, *, refund: bool) -> RateView | None:
        """The request is answered; ``refund`` gives back its primary charge (a 304)."""
        if not self.enabled:
            return None
        with self._lock:
            state = self._token(admission.token)
            state.in_flight = max(0, state.in_flight - 1)
            window = self._window(state, admission.resource)
            if refund and admission.charged and window.used > 0:
                window.used -= 1
            return self._view(state, admission.resource)

    # ---- refusals

    def _primary_exceeded(self, state: _TokenState, resource: str) -> LimitExceeded:
        view = self._view(state, resource)
        view.remaining = 0
        violation = "primary" if resource == CORE else "primary_graphql"
        return LimitExceeded(
            violation,
            self.limits.limit_status,
            "API rate limit exceeded for user ID 1.",
            RATE_DOCS + "#about-the-primary-rate-limit",
            view.headers(),
        )

    def _secondary(
        self,
        state: _TokenState,
        resource: str,
        kind: str,
        wait: float,
        message: str = SECONDARY_MESSAGE,
    ) -> LimitExceeded:
        headers = self._view(state, resource).headers()
        if self.limits.retry_after:
            headers["retry-after"] = str(max(1, math.ceil(wait - 1e-9)))
        return LimitExceeded(
            kind,
            self.limits.limit_status,
            message,
            RATE_DOCS + "#about-secondary-rate-limits",
            headers,
        )
