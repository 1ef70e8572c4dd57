"""Resume a killed run: skip the writes its journal says are done, journal the rest.

A run is identified by its inputs (command, host, targets, and the keyed fingerprint of the
value), so running the same command again resumes it, while a new value starts afresh.
"""

from __future__ import annotations

import hashlib
import shlex
import sys
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import structlog

from ..core.model import Action, Op, Outcome, Result, Scope, SecretValue
from ..core.plan import Memory, PlanItem, Remembered, changed_after
from ..github import errors
from ..github.api import SecretInfo
from ..github.pacing import BudgetSpent, NotAdmitted
from ..observe import redact
from ..observe.progress import Progress
from ..store.journal import Entry, Journal, default_journal_path
from ..store.locks import writing
from ..store.state import State, crash_point
from ..store.state_format import Record, StateKey
from .connect import Run
from .discover import for_each
from .engine import RunAborted
from .interrupt import Interrupt

log = structlog.get_logger("syncer.writes")


def host_of(api_url: str) -> str:
    return urlsplit(api_url).netloc or api_url


def where(scope: Scope) -> str:
    """A scope as the state and journal name it: "acme", "acme/api", "acme/api:production"."""
    if scope.kind == "org":
        return scope.org
    if scope.kind == "repo":
        return f"{scope.org}/{scope.repo}"
    return f"{scope.org}/{scope.repo}:{scope.env}"


def state_key(api_url: str, scope: Scope, name: str) -> StateKey:
    return StateKey(host_of(api_url), scope.store, where(scope), name)


def inputs_id(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


@dataclass
class Resume:
    journal: Journal
    fingerprint: Callable[[Action], str]  # of the value the action writes; "" for a delete
    _known: dict[tuple[Scope, str], str] = field(default_factory=dict)  # each HMAC once
    unfinished: bool = False  # targets were left unwritten: keep the run resumable
    #: writes the interrupted run completed that this run did not repeat (for the report)
    earlier: list[Action] = field(default_factory=list)

    def split(self, actions: Sequence[Action]) -> tuple[list[Action], list[Action]]:
        """(still to do, already done by the run being resumed)."""
        todo: list[Action] = []
        skipped: list[Action] = []
        for action in actions:
            (skipped if self.done(action) else todo).append(action)
        return todo, skipped

    def done(self, action: Action) -> bool:
        """The run being resumed (or this one) completed this write."""
        return self.journal.has_completed(self._write(action))

    def written_at(self, action: Action) -> str | None:
        """GitHub's time of the completed write, when the journal has it."""
        return self.journal.written_at(self._write(action))

    def redo(self, action: Action) -> None:
        """Write this target again although the resumed run completed it."""
        self.journal.forget(self._write(action))

    def record(self, outcome: Outcome) -> None:
        action = outcome.action
        self.journal.record(Entry(where(action.scope), action.scope.store, action.name,
                                  self._fp(action), outcome.result.value, outcome.status,
                                  outcome.updated_at))

    def _write(self, action: Action) -> tuple[str, str, str, str]:
        return action.scope.store, where(action.scope), action.name, self._fp(action)

    def _fp(self, action: Action) -> str:
        if action.op is Op.DELETE:
            return ""
        target = (action.scope, action.name)
        if target not in self._known:
            self._known[target] = self.fingerprint(action)
        return self._known[target]


@contextmanager
def resumable(state: State, inputs: str, fingerprint: Callable[[Action], str], *,
              fresh: bool = False, writes: Iterable[tuple[str, str, str]] = ()
              ) -> Iterator[Resume]:
    """A journal for one run beside the state file: finished when the block completes with
    every target handled; left resumable when it is interrupted, stopped with targets left
    unwritten (a spent budget), cancelled or fails.

    `writes` are the (host, org, secret name) the run writes: their writer locks, shared by
    every state file on the machine, are held for the block (LockHeld if another run has one),
    so two runs cannot leave a secret with a mix of their values."""
    with writer_locks(writes):
        with _journalled(state, inputs, fingerprint, fresh) as resume:
            yield resume


def writer_locks(writes: Iterable[tuple[str, str, str]]) -> AbstractContextManager[None]:
    """The machine-wide writer locks of these (host, org, secret name), naming this run by its
    command line (a value or token never reaches argv; registered ones are scrubbed anyway)."""
    return writing(writes, redact.scrub(shlex.join(["syncer", *sys.argv[1:]])))


@contextmanager
def _journalled(state: State, inputs: str, fingerprint: Callable[[Action], str],
                fresh: bool) -> Iterator[Resume]:
    journal = Journal.open(default_journal_path(state.path), inputs, fresh=fresh)
    if journal.problems:  # one line, however many: each damaged record is only skipped
        log.warning("journal_damaged", journal=str(journal.path),
                    damaged_lines=journal.damaged_lines, first=journal.problems[0],
                    action="skipped; GitHub's state decides")
    resume = Resume(journal, fingerprint)
    try:
        yield resume
    except BaseException:
        journal.close()
        raise
    if resume.unfinished:
        journal.close()
    else:
        journal.finish()


def one_value_fingerprints(state: State, api_url: str, value: SecretValue, app: str, name: str
                           ) -> tuple[Callable[[Action], str], str]:
    """For a run writing one value everywhere: each target's keyed fingerprint of it, and one
    for the value as a whole (part of the run's inputs, so a new value is a new run)."""
    def per_target(action: Action) -> str:
        return state.fingerprint(value, state_key(api_url, action.scope, action.name))
    return per_target, state.fingerprint(value, StateKey("*", app, "*", name))


async def write_resumably(run: Run, resume: Resume,
                          actions: Sequence[Action] | AsyncIterable[Action],
                          value_for: Callable[[Action], SecretValue],
                          show_progress: bool | None,
                          on_github: Callable[[Action], Awaitable[SecretInfo | None]] | None = None,
                          ) -> list[Outcome]:
    """Run what the interrupted run left, journalling each outcome, with a progress bar.

    `actions` may be a stream (repositories as their listing arrives): writing starts at once.
    `on_github` tells what GitHub holds at a target now (None: nothing): the interrupted run's
    writes changed on GitHub since are written again, once the rest is done.
    """
    progress = Progress(0, enabled=show_progress, pacer=run.client.pacer,
                        retries=run.client.stats)

    def count_as_done(done: Sequence[Action], sign: int = 1) -> None:
        run.stop.done += sign * len(done)
        run.stop.total += sign * len(done)

    async def still_to_do(stream: AsyncIterable[Action]) -> AsyncIterator[Action]:
        async for action in stream:
            if resume.done(action):
                resume.earlier.append(action)
                count_as_done([action])
            else:
                progress.more()
                yield action

    def on_outcome(outcome: Outcome) -> None:
        if outcome.result is not Result.SKIPPED:
            resume.record(outcome)
        progress(outcome)

    if isinstance(actions, AsyncIterable):
        todo: Sequence[Action] | AsyncIterable[Action] = still_to_do(actions)
    else:
        todo, resume.earlier = resume.split(actions)
        count_as_done(resume.earlier)
        progress.more(len(todo))
    engine = run.engine(on_outcome)
    # the interrupted run's writes are checked next, if there are any (known once all arrived)
    engine.last_phase = lambda: on_github is None or not resume.earlier
    unchecked = False
    try:
        outcomes = await engine.run(todo, value_for)
        if on_github is not None and resume.earlier and not (engine.stopped
                                                              or engine.stream_cut_short):
            again, unchecked = await _changed_since(resume, on_github, run.settings.concurrency,
                                                    run.stop)
            count_as_done(again, -1)
            progress.more(len(again))
            engine = run.engine(on_outcome)
            outcomes += await engine.run(again, value_for)
        return outcomes
    finally:
        # Targets a stop left unwritten or unchecked, or never listed: the same command resumes.
        resume.unfinished = engine.stopped or engine.stream_cut_short or unchecked
        progress.close()
        if resume.earlier:
            log.info("resume", already_done=len(resume.earlier),
                     journal=str(resume.journal.path))


async def _changed_since(resume: Resume, on_github: Callable[[Action], Awaitable[SecretInfo | None]],
                         concurrency: int, stop: Interrupt) -> tuple[list[Action], bool]:
    """The interrupted run's writes that GitHub no longer shows as it left them (changed since,
    or gone), taken out of `resume.earlier` and out of what the journal counts as done; and
    whether a stop (a signal, a spent budget) left some unchecked (the next run checks them)."""
    again: list[Action] = []
    unchecked = False

    async def check(action: Action) -> None:
        nonlocal unchecked
        if unchecked or stop.signalled:
            unchecked = True
            return
        try:
            now = await on_github(action)
        except (BudgetSpent, NotAdmitted, errors.RateLimited):
            unchecked = True
            return
        except errors.AuthFailed:
            raise
        except errors.GitHubError as exc:  # left as done: what the journal says still holds
            log.warning("resume_unchecked", scope=str(action.scope), secret=action.name,
                        error=str(exc))
            return
        if now is None or changed_after(now.updated_at, resume.written_at(action)):
            again.append(action)

    await for_each(resume.earlier, check, concurrency)
    for action in again:
        resume.redo(action)
        resume.earlier.remove(action)
        log.info("resume_rewrite", scope=str(action.scope), secret=action.name,
                 why="changed on GitHub after the interrupted run wrote it")
    return sorted(again, key=lambda a: str(a.scope)), unchecked


async def write_planned(run: Run, state: State, to_write: Sequence[PlanItem],
                        value_for: Callable[[Action], SecretValue], *, command: str,
                        labels: Sequence[str], fresh: bool, show_progress: bool | None,
                        ) -> tuple[list[Outcome], list[Action]]:
    """Write planned items as `apply` and `migrate` do: journalled and resumable (the inputs are
    the command, host, `labels` and every target's fingerprint), writes an interrupted run
    completed adopted into the state, each success recorded there, and the state saved however
    the run ends. Returns the engine's outcomes and what the interrupted run had done."""
    api_url = run.settings.api_url
    fingerprints = {(i.scope, i.name): i.desired.fingerprint for i in to_write if i.desired}
    inputs = inputs_id(command, host_of(api_url), *labels, *sorted(
        f"{where(i.scope)}|{i.scope.store}|{i.name}|{fingerprints.get((i.scope, i.name), '')}"
        for i in to_write))
    outcomes: list[Outcome] = []
    done: list[Action] = []
    writes = {(host_of(api_url), i.scope.org, i.name) for i in to_write}
    with resumable(state, inputs, lambda a: fingerprints[(a.scope, a.name)],
                   fresh=fresh, writes=writes) as resume:
        # The state is saved inside the journal's block: the journal is marked finished only
        # once the state holds every write, so a kill at any instant leaves one of the two
        # telling the next run what was done.
        try:
            actions = [i.action() for i in to_write]
            done = _still_done(resume, to_write, resume.split(actions)[1])
            _adopt(state, api_url, to_write, done)
            try:
                outcomes = await write_resumably(run, resume, actions, value_for, show_progress)
            except RunAborted as aborted:  # the token was rejected mid-run: keep what was done
                outcomes = aborted.outcomes
                raise
        finally:
            crash_point("writes-done")
            _record(state, api_url, outcomes, fingerprints)
            state.save()
            crash_point("state-saved")
    return outcomes, done


def _still_done(resume: Resume, to_write: Sequence[PlanItem], done: list[Action]) -> list[Action]:
    """The writes the interrupted run completed, less those changed on GitHub since (GitHub's
    updated_at, read just now, later than the journalled write's): those are written again, as
    a run that was never interrupted would rewrite a drifted secret."""
    github_at = {(i.scope, i.name): i.github_updated_at for i in to_write}
    kept = []
    for action in done:
        if changed_after(github_at[(action.scope, action.name)], resume.written_at(action)):
            resume.redo(action)
            log.info("resume_rewrite", scope=str(action.scope), secret=action.name,
                     why="changed on GitHub after the interrupted run wrote it")
        else:
            kept.append(action)
    return kept


def _adopt(state: State, api_url: str, to_write: Sequence[PlanItem],
           done: Sequence[Action]) -> None:
    """Writes the interrupted run completed: GitHub's updated_at, read just now, is theirs."""
    by_target = {(i.scope, i.name): i for i in to_write}
    for action in done:
        item = by_target[(action.scope, action.name)]
        key = state_key(api_url, action.scope, action.name)
        if action.op is Op.DELETE:
            state.forget(key)
        elif item.desired is not None:
            state.put(key, Record.now(item.desired.fingerprint, item.github_updated_at,
                                      _selection_text(action)))


def _record(state: State, api_url: str, outcomes: Sequence[Outcome],
            fingerprints: Mapping[tuple[Scope, str], str]) -> None:
    """Remember each successful write: the value's keyed fingerprint and GitHub's time of it."""
    for outcome in outcomes:
        action = outcome.action
        key = state_key(api_url, action.scope, action.name)
        if outcome.result is Result.DELETED:
            state.forget(key)
        elif outcome.result in (Result.CREATED, Result.UPDATED):
            state.put(key, Record.now(fingerprints[(action.scope, action.name)],
                                      outcome.updated_at, _selection_text(action)))


def remembered_in(state: State, api_url: str) -> Memory:
    """What the state knows of syncer's last write to each target on this host, for a plan."""
    def remembered(scope: Scope, name: str) -> Remembered | None:
        record = state.get(state_key(api_url, scope, name))
        return Remembered(record.fingerprint, record.updated_at,
                          record.selection) if record else None
    return remembered


def _selection_text(action: Action) -> str | None:
    return action.selection.as_text() if action.selection is not None else None
