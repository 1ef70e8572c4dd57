"""When and how long to wait before trying a request again, from the errors' own hints.

Follows what GitHub asks of clients: honour retry-after; else, when the primary budget is spent,
wait until its reset; else wait at least a minute for a secondary limit; back off exponentially
with jitter and give up after a few tries.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio

if TYPE_CHECKING:  # tenacity loads with the first retry: most runs never need it
    from tenacity import AsyncRetrying, RetryCallState

from . import errors


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 6  # tries of one request, the first included
    backoff_initial: float = 0.5  # seconds before the first retry of a transient fault
    backoff_max: float = 30.0
    secondary_default: float = 60.0  # a secondary limit without retry-after: GitHub asks for >= 1 min
    wait_for_reset: bool = True  # False: a spent primary budget fails instead of waiting


def wait_seconds(exc: BaseException, attempt: int, policy: RetryPolicy,
                 clock: Callable[[], float] = time.time, rng: random.Random | None = None) -> float:
    """How long to wait after `exc` ended try number `attempt` (1-based)."""
    jitter: float = (rng or random).uniform(0, 1)
    backoff: float = min(policy.backoff_max, policy.backoff_initial * 2 ** (attempt - 1)) * (0.5 + jitter / 2)
    if isinstance(exc, errors.RateLimited):
        return max(0.0, exc.reset_at - clock()) + 1.0
    if isinstance(exc, errors.SecondaryRateLimited):
        hinted = exc.retry_after if exc.retry_after is not None else policy.secondary_default
        return hinted + (backoff if attempt > 1 else 0.0)
    return backoff


def should_retry(exc: BaseException, policy: RetryPolicy) -> bool:
    if isinstance(exc, errors.RateLimited) and not policy.wait_for_reset:
        return False
    return isinstance(exc, errors.GitHubError) and exc.retryable


def retrying(policy: RetryPolicy,
             before_sleep: Callable[[RetryCallState], None] | None = None,
             tries_done: int = 0,
             sleep: Callable[[float], Awaitable[None]] = anyio.sleep) -> AsyncRetrying:
    """The retry loop for the tries after `tries_done` already made (and waited for)."""
    from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return wait_seconds(exc, state.attempt_number + tries_done, policy) if exc else 0.0

    return AsyncRetrying(
        retry=retry_if_exception(lambda exc: should_retry(exc, policy)),
        stop=stop_after_attempt(policy.attempts - tries_done),
        wait=wait,
        before_sleep=before_sleep,
        reraise=True,
        sleep=sleep,
    )
