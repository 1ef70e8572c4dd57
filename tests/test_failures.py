"""syncer.failures: the one table from what went wrong to the exit code and line on stderr; and
no other place in syncer/ decides an exit code with a bare number."""

from __future__ import annotations

import ast
import signal
from pathlib import Path

import pytest

from syncer import failures
from syncer.execution.engine import RunAborted
from syncer.exits import AuthError, Exit, UsageError
from syncer.github import errors
from syncer.github.pacing import BudgetSpent
from syncer.sources import Stopped
from syncer.store.journal import JournalError
from syncer.store.locks import LockHeld
from syncer.store.saved_plan import PlanChanged
from syncer.store.state_format import StateError

ACCOUNT = "3 of 10 targets written, resume with the same command"
RESET = 2_000_000_000.0  # epoch seconds of a budget's reset


def explained(exc: BaseException, account: str | None = None) -> tuple[int, str]:
    failure = failures.explain(exc, account)
    assert failure is not None, f"no row for {type(exc).__name__}"
    return int(failure.code), failure.message


# Each row of the table: the error, its exit code, and its line before any write and after
# writing began (None: as before, no account added).
ROWS: list[tuple[str, BaseException, int, str, str | None]] = [
    ("usage error", UsageError("--org is required"), 2, "--org is required", None),
    ("a usage error's subclass (a saved plan that no longer holds)",
     PlanChanged("plan.json: the value changed; nothing was written", []), 2,
     "plan.json: the value changed; nothing was written", None),
    ("no credentials", AuthError("no token: set GITHUB_TOKEN"), 3, "no token: set GITHUB_TOKEN",
     None),
    ("unusable state file", StateError("state.json is not JSON"), 2, "state.json is not JSON", None),
    ("lock held", LockHeld(Path("/s/state.lock"), 41), 4,
     "another syncer run (pid 41) holds the lock /s/state.lock; wait for it to finish (the "
     "lock is released automatically when that process exits)", None),
    ("journal unwritable", JournalError("No space left on device"), 1, "No space left on device",
     f"No space left on device; {ACCOUNT}"),
    ("every write refused", RunAborted("every write was refused (401)", []), 3,
     "every write was refused (401)", f"every write was refused (401); {ACCOUNT}"),
    ("token rejected", errors.AuthFailed(401, "Bad credentials", method="GET", path="/orgs/a"), 3,
     "token rejected (Bad credentials)", f"token rejected (Bad credentials); {ACCOUNT}"),
    ("budget spent (--no-wait)", BudgetSpent(RESET), 1,
     f"{BudgetSpent(RESET)} before any secret was written; run again after the reset",
     f"{BudgetSpent(RESET)}; {ACCOUNT}"),
    ("GitHub's rate-limit answer", errors.RateLimited(403, "API rate limit exceeded",
                                                      reset_at=RESET), 1,
     f"{BudgetSpent(RESET)} before any secret was written; run again after the reset",
     f"{BudgetSpent(RESET)}; {ACCOUNT}"),
    ("GitHub out of reach", errors.TransportError("connection refused"), 1,
     "GitHub could not be read: connection refused",
     f"GitHub could not be read: connection refused; {ACCOUNT}"),
    ("any other GitHub answer", errors.ServerError(502, "Bad Gateway", method="GET", path="/x"), 1,
     "GitHub could not be read: GET /x: 502 Bad Gateway",
     f"GitHub could not be read: GET /x: 502 Bad Gateway; {ACCOUNT}"),
    ("Ctrl-C", KeyboardInterrupt(), 130, "interrupted", None),
    ("SIGINT during a value command", Stopped(signal.SIGINT), 130, "interrupted", None),
    ("SIGTERM during a value command", Stopped(signal.SIGTERM), 143, "interrupted", None),
]


@pytest.mark.parametrize(("exc", "code", "before", "after"),
                         [row[1:] for row in ROWS], ids=[row[0] for row in ROWS])
def test_each_row_gives_its_exit_code_and_line(exc: BaseException, code: int, before: str,
                                               after: str | None) -> None:
    """Each kind of error ends with its documented exit code and one line; an error that ends a
    run after writing began adds how far the run got (its account), the others do not."""
    assert explained(exc) == (code, before)
    assert explained(exc, ACCOUNT) == (code, after if after is not None else before)


def test_subclasses_meet_their_own_row_before_their_parents() -> None:
    """The table is read top to bottom: a rejected token (an HTTP error) is exit 3, not the
    generic 'GitHub could not be read' (1); a spent budget says so, not 'could not be read'."""
    assert isinstance(errors.AuthFailed(401, "x"), errors.GitHubError)
    assert explained(errors.AuthFailed(401, "Bad credentials"))[0] == Exit.AUTH
    assert isinstance(errors.RateLimited(403, "x", reset_at=RESET), errors.GitHubError)
    assert "could not be read" not in explained(errors.RateLimited(403, "x", reset_at=RESET))[1]


def test_an_error_no_row_knows_is_left_to_show() -> None:
    """A bug (an error no row names) gets no exit code here: main lets it raise with its
    traceback instead of hiding it behind a line."""
    assert failures.explain(ValueError("a bug")) is None
    assert failures.explain(AssertionError()) is None


def test_every_failure_code_is_in_the_table() -> None:
    """Every exit code a failure can have (2, 3, 4, 1, 130, 143) is given by some row; 0 and 5
    are outcomes, decided by a command's report()."""
    given = {explained(row[1])[0] for row in ROWS}
    assert given == {int(code) for code in Exit} - {Exit.OK, Exit.CHANGES}


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_after_writing_began_exits_128_plus_its_number(signum: int, code: int) -> None:
    """A run a signal stopped ends as shells report a signal: 130 for SIGINT, 143 for SIGTERM."""
    assert failures.for_signal(signum) == code


# --- no bare exit numbers elsewhere ---------------------------------------------------------

SYNCER = Path(__file__).resolve().parent.parent / "syncer"

#: Functions (by name: they may move between modules) that return an int literal that is no
#: exit code.
NOT_EXIT_CODES = {
    "request_points",  # a request's cost in GitHub's points
    "columns",  # a terminal's width
}

_EXITS = {"exit", "_exit", "SystemExit"}  # sys.exit, os._exit, raise SystemExit


def _int_literals(node: ast.expr | None) -> list[int]:
    """The int literals `node` can evaluate to as a whole: itself, or a branch of `a if c else b`
    or of `a or b`."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _int_literals(node.body) + _int_literals(node.orelse)
    if isinstance(node, ast.BoolOp):
        return [n for value in node.values for n in _int_literals(value)]
    return []


def bare_numbers(tree: ast.Module) -> set[str]:
    """The functions (by name; "<module>" for top-level code) that return an int literal, or
    pass one to sys.exit, os._exit or SystemExit."""
    found: set[str] = set()

    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node.name
        elif isinstance(node, ast.Return) and _int_literals(node.value):
            found.add(function)
        elif isinstance(node, ast.Call) and node.args and _int_literals(node.args[0]):
            called = node.func
            name = called.attr if isinstance(called, ast.Attribute) else getattr(called, "id", "")
            if name in _EXITS:
                found.add(function)
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(tree, "<module>")
    return found


def test_the_scan_sees_each_way_of_a_bare_exit_number() -> None:
    """The scan below finds `return 1`, `return 1 if x else 0`, sys.exit(2), os._exit(3) and
    raise SystemExit(4); not `return Exit.OK`, a float, True, or a number in a string."""
    code = '''
def a(): return 1
def b(x): return 1 if x else 0
def c(): sys.exit(2)
def d(): os._exit(3)
def e(): raise SystemExit(4)
def f(): return Exit.OK
def g(): return 0.5
def h(): return True
def i(): return "sys.exit(1)"
def j(): sys.exit(main())
'''
    assert bare_numbers(ast.parse(code)) == {"a", "b", "c", "d", "e"}


def test_no_other_place_decides_an_exit_code_with_a_bare_number() -> None:
    """Exit codes are Exit members, decided in syncer.failures or a command's report(): no
    function in syncer/ (fakehub aside, a program of its own) returns a bare int literal or
    exits with one, except those known not to be exit codes."""
    found = set()
    for path in SYNCER.rglob("*.py"):
        relative = path.relative_to(SYNCER).as_posix()
        if relative.startswith("fakehub/"):
            continue
        where = relative.split("/")[0]  # a package, or a top-level file
        found |= {(where, function) for function in bare_numbers(ast.parse(path.read_text()))
                  if function not in NOT_EXIT_CODES}
    assert found == set()
