"""Run a plan: every action once, with bounded concurrency, each target's failure its own.

A rejected token stops the whole run at once; a spent rate-limit budget (when told not to
wait) stops scheduling and leaves the rest reported as not written; any other failure fails
only its target.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace

import anyio
import structlog

from .crypto import Sealer
from .github import errors
from .github.api import SecretsAPI
from .github.auth import acting_for
from .github.pacing import BudgetSpent
from .github.sansio import Response
from .interrupt import current as current_interrupt
from .interrupt import stop_requested
from .keys import KeyCache
from .model import Action, Op, Outcome, Result, SecretValue

log = structlog.get_logger("syncer.engine")

OnOutcome = Callable[[Outcome], None]
WRITTEN = (Result.CREATED, Result.UPDATED, Result.DELETED)


class RunAborted(Exception):
    """The run cannot go on (the token was rejected); `outcomes` holds what was done."""

    def __init__(self, message: str, outcomes: list[Outcome]) -> None:
        super().__init__(message)
        self.outcomes = outcomes


@dataclass
class Engine:
    api: SecretsAPI
    sealer: Sealer
    keys: KeyCache
    concurrency: int = 16
    on_outcome: OnOutcome | None = None
    _stop_reason: str | None = field(default=None, init=False)

    async def run(self, actions: Iterable[Action],
                  value_for: Callable[[Action], SecretValue]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        actions = list(actions)
        todo = iter(actions)
        aborted: list[errors.AuthFailed] = []
        interrupt = current_interrupt.get()
        if interrupt is not None:
            interrupt.total += len(actions)
            interrupt.engine_active = True

        def keep_going() -> bool:
            if self._stop_reason is None and stop_requested():
                self._stop_reason = "not written: interrupted"
            return self._stop_reason is None

        async def worker(cancel: anyio.CancelScope) -> None:
            for action in _take(todo, keep_going):
                try:
                    outcome = await self._perform(action, value_for)
                except errors.AuthFailed as exc:
                    aborted.append(exc)
                    cancel.cancel()
                    return
                self._record(outcome, outcomes)
                if interrupt is not None:
                    interrupt.done += outcome.result in WRITTEN

        try:
            async with anyio.create_task_group() as tg:
                for _ in range(self.concurrency):
                    tg.start_soon(worker, tg.cancel_scope)
        finally:
            if interrupt is not None:
                interrupt.engine_active = False
        if aborted:
            raise RunAborted(f"token rejected ({aborted[0].message})", outcomes)
        for action in todo:  # left unscheduled by a stop
            self._record(Outcome(action, Result.SKIPPED, error=self._stop_reason), outcomes)
        return outcomes

    async def _perform(self, action: Action, value_for: Callable[[Action], SecretValue]) -> Outcome:
        started = time.perf_counter()
        try:
            with acting_for(action.scope.org):  # a GitHub App acts per org with its own token
                if action.op is Op.DELETE:
                    response = await self.api.delete_secret(action.scope, action.name)
                    result = Result.DELETED
                else:
                    response = await self._put(action, value_for(action))
                    result = Result.CREATED if response.status == 201 else Result.UPDATED
        except (BudgetSpent, errors.RateLimited) as exc:
            # Only reaches here when told not to wait for the reset (else it is retried).
            reason = exc if isinstance(exc, BudgetSpent) else BudgetSpent(exc.reset_at)
            self._stop_reason = f"not written: {reason}"
            return Outcome(action, Result.SKIPPED, error=self._stop_reason)
        except errors.AuthFailed:
            raise
        except errors.GitHubError as exc:
            return Outcome(action, Result.FAILED, getattr(exc, "status", None),
                           duration_ms=_ms_since(started), error=_describe(exc, action))
        return Outcome(action, result, response.status, response.attempts, _ms_since(started),
                       updated_at=response.date)

    async def _put(self, action: Action, value: SecretValue) -> Response:
        """Seal with the scope's key and PUT; on a key mismatch re-fetch the key once, re-seal."""
        scope = action.scope
        key = await self.keys.get(scope)
        sealed = await self.sealer.seal(key.key, value)
        try:
            return await self.api.put_secret(scope, action.name, sealed, key.key_id,
                                             action.selection)
        except errors.KeyMismatch:
            key = await self.keys.refresh(scope, key)
        sealed = await self.sealer.seal(key.key, value)
        response = await self.api.put_secret(scope, action.name, sealed, key.key_id,
                                             action.selection)
        return replace(response, attempts=response.attempts + 1)

    def _record(self, outcome: Outcome, outcomes: list[Outcome]) -> None:
        outcomes.append(outcome)
        action = outcome.action
        log.info("write", secret=action.name, scope=str(action.scope), kind=action.scope.kind,
                 action=action.op.value, outcome=outcome.result.value, status=outcome.status,
                 attempt=outcome.attempts, duration_ms=round(outcome.duration_ms, 1),
                 **({"error": outcome.error} if outcome.error else {}))
        if self.on_outcome is not None:
            self.on_outcome(outcome)


def _take(items: Iterator[Action], keep_going: Callable[[], bool]) -> Iterator[Action]:
    while keep_going():
        try:
            yield next(items)
        except StopIteration:
            return


def _describe(exc: errors.GitHubError, action: Action) -> str:
    if isinstance(exc, errors.NotFound) and action.scope.kind == "env":
        return f"environment {action.scope.env!r} not found in {action.scope.full_repo}"
    if isinstance(exc, errors.NotFound):
        return f"{action.scope} not found or token lacks access"
    if isinstance(exc, errors.HTTPError):
        return f"{exc.status} {exc.message}"
    return str(exc)


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
