"""What went wrong, as one line on stderr and an exit code.

syncer's own usage and credential errors carry their exit code (`exits.UsageError`,
`exits.AuthError`); the errors of the layers below, which know nothing of exit codes, are
mapped here, once, as a table read top to bottom (the first class that matches decides):

    UsageError (ConfigError, PlanChanged, …)   2  its own message
    AuthError                                  3
    StateError                                 2  the state file is unusable
    LockHeld                                   4  another run holds the state's lock
    JournalError                               1  + how far the run got
    RunAborted                                 3  every write was refused: + how far
    github.errors.AuthFailed                   3  "token rejected (…)" + how far
    BudgetSpent, github.errors.RateLimited     1  the hourly budget is spent
    github.errors.GitHubError                  1  "GitHub could not be read: …" + how far
    KeyboardInterrupt                          130, or 143 for a SIGTERM during a value command

A command's own outcomes (targets failed, changes pending) are decided by its `report()`.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from dataclasses import dataclass

from .execution.engine import RunAborted
from .exits import AuthError, Exit, UsageError
from .github import errors
from .github.pacing import BudgetSpent
from .sources import Stopped
from .store.journal import JournalError
from .store.locks import LockHeld
from .store.state_format import StateError


@dataclass(frozen=True)
class Failure:
    code: Exit
    message: str


@dataclass(frozen=True)
class _Row:
    kind: type[BaseException] | tuple[type[BaseException], ...]
    code: Exit | Callable[[BaseException], Exit]
    #: (the error, whether writing had begun) → the line to print
    message: Callable[[BaseException, bool], str] = lambda exc, _: str(exc)
    #: add how far the run got, when it stopped after writing began
    with_account: bool = False


def _owned(exc: BaseException) -> Exit:
    assert isinstance(exc, (UsageError, AuthError))
    return exc.exit_code


def _message(exc: BaseException) -> str:
    """GitHub's own words of an answer it refused."""
    assert isinstance(exc, errors.HTTPError)
    return exc.message


def _budget(exc: BaseException, writing_began: bool) -> str:
    assert isinstance(exc, (BudgetSpent, errors.RateLimited))
    spent = exc if isinstance(exc, BudgetSpent) else BudgetSpent(exc.reset_at)
    return str(spent) if writing_began else (f"{spent} before any secret was written; run "
                                             "again after the reset")


def _interrupted(exc: BaseException) -> Exit:
    """130 for Ctrl-C, 143 for a SIGTERM that came while a value command ran."""
    terminated = isinstance(exc, Stopped) and exc.signum == signal.SIGTERM
    return Exit.TERMINATED if terminated else Exit.INTERRUPTED


TABLE: tuple[_Row, ...] = (
    _Row((UsageError, AuthError), _owned),
    _Row(StateError, Exit.USAGE),
    _Row(LockHeld, Exit.LOCKED),
    _Row(JournalError, Exit.FAILED, with_account=True),
    _Row(RunAborted, Exit.AUTH, with_account=True),
    _Row(errors.AuthFailed, Exit.AUTH, lambda exc, _: f"token rejected ({_message(exc)})",
         with_account=True),
    _Row((BudgetSpent, errors.RateLimited), Exit.FAILED, _budget, with_account=True),
    _Row(errors.GitHubError, Exit.FAILED, lambda exc, _: f"GitHub could not be read: {exc}",
         with_account=True),
    _Row(KeyboardInterrupt, _interrupted, lambda exc, _: "interrupted"),
)


def explain(exc: BaseException, account: str | None = None) -> Failure | None:
    """The exit code and line for `exc`; None for an error no row knows (a bug: let it show).
    `account` says how far a run got that stopped after writing began."""
    for row in TABLE:
        if isinstance(exc, row.kind):
            code = row.code if isinstance(row.code, Exit) else row.code(exc)
            message = row.message(exc, account is not None)
            if row.with_account and account:
                message = f"{message}; {account}"
            return Failure(code, message)
    return None


def for_signal(signum: int) -> Exit:
    """A run a signal stopped after writing began: 143 for SIGTERM, 130 for SIGINT."""
    return Exit.TERMINATED if signum == signal.SIGTERM else Exit.INTERRUPTED
