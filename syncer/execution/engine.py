"""Run a plan: every action once, with bounded concurrency, each target's failure its own.

A rejected token stops the whole run at once; a spent rate-limit budget (when told not to
wait) stops scheduling and leaves the rest reported as not written; any other failure fails
only its target.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.utils import format_datetime
from typing import Any

import anyio
import structlog

from ..core.limits import DEFAULT_CONCURRENCY
from ..core.model import Action, Op, Outcome, Result, SecretValue, Stop, StopReason
from ..github import errors
from ..github.api import SecretsAPI
from ..github.org_tokens import acting_for
from ..github.pacing import BudgetSpent, NotAdmitted
from ..github.sansio import Response
from ..observe.summary import error_text
from .crypto import Sealer
from .interrupt import Interrupt
from .keys import KeyCache

log = structlog.get_logger("syncer.engine")

OnOutcome = Callable[[Outcome], None]
CUT_OFF = "cut off in flight when the grace ran out: it may have landed"
#: GitHub's clock may run behind ours by this much (its times are whole seconds, too)
LANDED_TOLERANCE_S = 5.0
WRITTEN = (Result.CREATED, Result.UPDATED, Result.DELETED)


class RunAborted(Exception):
    """The run cannot go on (the token was rejected); `outcomes` holds what was done."""

    def __init__(self, message: str, outcomes: list[Outcome]) -> None:
        super().__init__(message)
        self.outcomes = outcomes


class StreamBroken(Exception):
    """The stream of actions failed part-way (a listing page could not be read); `outcomes`
    holds what was done with the actions that had arrived."""

    def __init__(self, error: Exception, outcomes: list[Outcome]) -> None:
        super().__init__(str(error))
        self.error = error
        self.outcomes = outcomes


@dataclass
class Engine:
    api: SecretsAPI
    sealer: Sealer
    keys: KeyCache
    concurrency: int = DEFAULT_CONCURRENCY
    on_outcome: OnOutcome | None = None
    #: the run's stop handle: a signal on it stops scheduling; the engine keeps its account
    #: (targets seen and done, writes in flight and cut off) and says why it stopped on its own
    stop: Interrupt = field(kw_only=True)
    #: whether no request of the command follows this run's, asked once every action has been
    #: taken (a late signal then has nothing to stop)
    last_phase: Callable[[], bool] = lambda: True
    _stop: StopReason | None = field(default=None, init=False)
    _lost: int = field(default=0, init=False)  # writes whose every try went unanswered
    _log: Any = field(default=log, init=False)
    #: a stream of actions was left unread by a stop: targets it held were never seen
    stream_cut_short: bool = field(default=False, init=False)

    #: targets a stop (a signal, a spent budget) left undone in the last run: not written, or
    #: cut off in flight (they may have landed)
    left_undone: int = field(default=0, init=False)

    @property
    def stopped(self) -> bool:
        """A stop (a signal, a spent budget) left targets undone: the run can be resumed."""
        return self.left_undone > 0

    async def run(self, actions: Iterable[Action] | AsyncIterable[Action],
                  value_for: Callable[[Action], SecretValue]) -> list[Outcome]:
        """Perform every action; `actions` may arrive as a listing produces them, and writing
        starts with the first. If that stream fails, what arrived is still done (or reported
        not written on a stop), then StreamBroken is raised."""
        outcomes: list[Outcome] = []
        self._log = log.bind()  # bound once per run, not again for every write's event
        feed = _Feed()
        aborted: list[errors.AuthFailed] = []
        interrupt = self.stop
        pacer = self.api.client.pacer
        feed.on_arrival = lambda: setattr(interrupt, "total", interrupt.total + 1)
        # on a signal, what waits for its turn (pacing, a backoff) is not sent at all
        interrupt.on_stop.append(pacer.stop_admitting)

        def keep_going() -> bool:
            if self._stop is None and interrupt.signalled:
                self._stop = StopReason(Stop.INTERRUPTED)
            return self._stop is None

        worker_scopes: set[anyio.CancelScope] = set()
        cut_off: list[Action] = []
        listing = anyio.CancelScope()

        def cut_writes() -> None:  # and the listing: a page on its way starts no new write
            listing.cancel()
            for scope in worker_scopes:
                scope.cancel()

        async def fill(stream: AsyncIterable[Action]) -> None:
            with listing:
                await feed.fill(stream, keep_going)

        def record(outcome: Outcome) -> None:
            try:
                self._record(outcome, outcomes)
            except Exception as exc:  # noqa: BLE001 - the journal cannot be written (disk full)
                # Writing on without a record of it would leave a resume blind: stop as on a
                # signal, letting the writes under way finish.
                self._stop = self._stop or StopReason(Stop.UNRECORDED, str(exc))
                log.error("recording_failed", error=str(exc))
            interrupt.done += outcome.result in WRITTEN

        async def worker(cancel: anyio.CancelScope) -> None:
            # One scope for the worker's life (one per write cost measurably more): cut_writes
            # cancels it, and so the write under way, which is then reported as cut off.
            scope = anyio.CancelScope()
            worker_scopes.add(scope)
            under_way: Action | None = None
            try:
                with scope:
                    while keep_going() and (action := await feed.take()) is not None:
                        if not keep_going():
                            feed.put_back(action)
                            return
                        under_way = action
                        interrupt.writes_in_flight += 1
                        try:
                            outcome = await self._perform(action, value_for)
                        finally:
                            interrupt.writes_in_flight -= 1
                            interrupt.write_settled()
                        under_way = None
                        record(outcome)
            except errors.AuthFailed as exc:
                aborted.append(exc)
                cancel.cancel()
                return
            except anyio.get_cancelled_exc_class():
                if under_way is not None and interrupt.signalled:
                    interrupt.cut_off += 1  # cancelled as a whole: it may have landed
                raise
            finally:
                worker_scopes.discard(scope)
            if under_way is not None:  # cut off when the grace ran out
                interrupt.cut_off += 1
                cut_off.append(under_way)
                record(Outcome(under_way, Result.FAILED, error=CUT_OFF))
            if feed.exhausted and self.last_phase():
                interrupt.idle = True  # no request left to send: a late signal stops nothing

        interrupt.idle = False
        interrupt.cut_writes = cut_writes
        try:
            async with anyio.create_task_group() as everything:
                if isinstance(actions, AsyncIterable):
                    everything.start_soon(fill, actions)
                else:
                    feed.extend(actions)
                async with anyio.create_task_group() as workers:
                    for _ in range(self.concurrency):
                        workers.start_soon(worker, everything.cancel_scope)
                everything.cancel_scope.cancel()  # the workers are done: so is any listing
        finally:
            self.stream_cut_short = not feed.complete
            interrupt.idle = self.last_phase()
            interrupt.cut_writes = None
            interrupt.on_stop.remove(pacer.stop_admitting)
            interrupt.total_is_partial |= self.stream_cut_short
        if isinstance(feed.failure, errors.AuthFailed):
            aborted.append(feed.failure)
        if aborted:
            raise RunAborted(f"token rejected ({aborted[0].message})", outcomes)
        if outcomes and all(o.denied for o in outcomes):
            # nothing done, and nothing could be: the token lacks the permission, not a target
            raise RunAborted(f"the token may not do this: {outcomes[0].error}", outcomes)
        if isinstance(feed.failure, NotAdmitted):  # the listing page was not sent: a stop
            feed.failure = None
        if isinstance(feed.failure, (BudgetSpent, errors.RateLimited)):
            # Only reaches here when told not to wait for the reset (else it is retried).
            self._stop = self._stop or _budget(feed.failure)
            feed.failure = None
        keep_going()  # workers cut off in flight never asked again: name the stop for the rest
        for action in feed.left():  # left unscheduled by a stop
            self._record(Outcome(action, Result.SKIPPED, stopped_by=self._stop), outcomes)
        # a cut-off or unanswered write may or may not have landed: the next run resumes to
        # find out
        self.left_undone = (sum(o.result is Result.SKIPPED for o in outcomes) + len(cut_off)
                            + self._lost)
        if not interrupt.signalled:
            if self._stop is not None:
                interrupt.stopped_by = self._stop
            elif feed.failure is not None:
                interrupt.stopped_by = StopReason(Stop.LISTING_FAILED, str(feed.failure))
        if feed.failure is not None:
            raise StreamBroken(feed.failure, outcomes)
        return outcomes

    async def _perform(self, action: Action, value_for: Callable[[Action], SecretValue]) -> Outcome:
        started = time.perf_counter()
        try:
            with acting_for(action.scope.org):  # a GitHub App acts per org with its own token
                if action.op is Op.DELETE:
                    response = await self.api.delete_secret(action.scope, action.name)
                    result = Result.DELETED
                elif action.scope.target == "variable":
                    response = await self._write_variable(action, value_for(action))
                    result = Result.CREATED if response.status == 201 else Result.UPDATED
                else:
                    response = await self._put(action, value_for(action))
                    result = Result.CREATED if response.status == 201 else Result.UPDATED
        except NotAdmitted:  # stopping: its requests were never sent
            self._stop = self._stop or StopReason(Stop.INTERRUPTED)
            return Outcome(action, Result.SKIPPED, stopped_by=self._stop)
        except (BudgetSpent, errors.RateLimited) as exc:
            # Only reaches here when told not to wait for the reset (else it is retried).
            self._stop = _budget(exc)
            return Outcome(action, Result.SKIPPED, stopped_by=self._stop)
        except errors.AuthFailed:
            raise
        except errors.TransportError as exc:
            # Every retry went unanswered: GitHub is out of reach, and the rest would only fail
            # the same way, one by one. Stop as a spent budget does; this write may have landed.
            self._stop = self._stop or StopReason(Stop.UNREACHABLE, str(exc))
            self._lost += 1
            return Outcome(action, Result.FAILED, duration_ms=_ms_since(started),
                           error=f"{exc}: it may have landed")
        except errors.GitHubError as exc:
            return Outcome(action, Result.FAILED, getattr(exc, "status", None),
                           duration_ms=_ms_since(started), error=_describe(exc, action),
                           denied=isinstance(exc, errors.PermissionDenied))
        return Outcome(action, result, response.status, response.attempts, _ms_since(started),
                       updated_at=response.date)

    async def _write_variable(self, action: Action, value: SecretValue) -> Response:
        """One write: POST where the variable does not exist yet, PATCH where it does (asked
        first, a read, unless a listing already said)."""
        exists = action.exists
        if exists is None:
            exists = await self.api.variable(action.scope, action.name) is not None
        return await self.api.write_variable(action.scope, action.name,
                                             value.reveal().decode("utf-8"), exists=exists,
                                             selection=action.selection)

    async def _put(self, action: Action, value: SecretValue) -> Response:
        """Seal with the scope's key and PUT; on a key mismatch re-fetch the key once, re-seal.

        A mismatch met by a retry whose earlier try may have landed may be GitHub answering
        our own write after the key rotated: the secret's updated_at, read then, tells."""
        scope = action.scope
        started = time.time()
        key = await self.keys.get(scope)
        for refreshed in (0, 1):
            sealed = await self.sealer.seal(key.key, value)
            try:
                response = await self.api.put_secret(scope, action.name, sealed, key.key_id,
                                                     action.selection)
                return replace(response, attempts=response.attempts + refreshed)
            except errors.KeyMismatch as exc:
                if exc.may_have_landed and (landed := await self._landed(action, started)):
                    return landed
                if refreshed:
                    raise
            key = await self.keys.refresh(scope, key)
        raise AssertionError("unreachable")

    async def _landed(self, action: Action, started: float) -> Response | None:
        """An answer for a PUT whose earlier try landed: GitHub dates the secret at or after
        the write began (within the clocks' tolerance), else None."""
        info = await self.api.secret(action.scope, action.name)
        if info is None or info.updated_at is None:
            return None
        at = datetime.fromisoformat(info.updated_at.replace("Z", "+00:00"))
        if at.timestamp() < started - LANDED_TOLERANCE_S:
            return None
        log.info("write_landed_earlier", secret=action.name, scope=str(action.scope),
                 updated_at=info.updated_at,
                 why="a retry met a stale key after an earlier try whose answer was lost")
        return Response(204, None, None, None, None, http_date=format_datetime(at, usegmt=True))

    def _record(self, outcome: Outcome, outcomes: list[Outcome]) -> None:
        outcomes.append(outcome)
        try:
            if self.on_outcome is not None:  # the journal first: it is what a resume relies on
                self.on_outcome(outcome)
        finally:  # a write that landed is logged even when the journal could not take it
            action = outcome.action
            self._log.info("write", secret=action.name, scope=str(action.scope),
                           kind=action.scope.kind, action=action.op.value,
                           outcome=outcome.result.value, status=outcome.status,
                           attempt=outcome.attempts, duration_ms=round(outcome.duration_ms, 1),
                           **({"error": error} if (error := error_text(outcome)) else {}))


class _Feed:
    """Actions waiting for a worker: all at once from a list, or one by one from a stream."""

    def __init__(self) -> None:
        self._waiting: deque[Action] = deque()
        self._arrived = asyncio.Event()
        self._ended = False  # no more will arrive (read to the end, failed, or stopped)
        self.complete = False  # read to the end
        self.failure: Exception | None = None
        self.on_arrival: Callable[[], None] | None = None

    def extend(self, actions: Iterable[Action]) -> None:
        for action in actions:
            self._add(action)
        self._ended = self.complete = True

    async def fill(self, stream: AsyncIterable[Action], keep_going: Callable[[], bool]) -> None:
        try:
            async for action in stream:
                self._add(action)
                if not keep_going():
                    return
            self.complete = True
        except Exception as exc:  # noqa: BLE001 - Engine.run reports it once the workers are done
            self.failure = exc
        finally:
            self._ended = True
            self._arrived.set()

    async def take(self) -> Action | None:
        """The next action, waiting for the stream if need be; None once there are no more."""
        while not self._waiting:
            if self._ended:
                return None
            self._arrived.clear()
            await self._arrived.wait()
        return self._waiting.popleft()

    @property
    def exhausted(self) -> bool:
        """Every action has arrived and been taken."""
        return self._ended and not self._waiting

    def put_back(self, action: Action) -> None:
        self._waiting.appendleft(action)

    def left(self) -> list[Action]:
        return list(self._waiting)

    def _add(self, action: Action) -> None:
        self._waiting.append(action)
        self._arrived.set()
        if self.on_arrival is not None:
            self.on_arrival()


def _budget(exc: BudgetSpent | errors.RateLimited) -> StopReason:
    return StopReason(Stop.BUDGET_SPENT, reset_at=exc.reset_at)


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
