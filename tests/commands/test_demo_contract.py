"""`syncer demo`: its one flag → the request; its report: verified or not, and the exit code."""

from __future__ import annotations

import pytest

from syncer.commands import demo
from syncer.commands.one_name import SetResult
from syncer.core.model import Result, Scope

from . import Printed, outcome, refused_by_parser, request, summary_of


def test_repos_make_the_request() -> None:
    """--repos N sets the size of the demo org; 200 by default."""
    assert request("demo", "--repos", "5") == demo.DemoRequest(5)
    assert request("demo") == demo.DemoRequest(200)


def test_no_repositories_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """--repos 0 is refused as the arguments are parsed (exit 2)."""
    assert "--repos: must be at least 1" in refused_by_parser(capsys, "demo", "--repos", "0")


def written(n: int) -> list:
    return [outcome(Scope.of_repo("acme", f"repo-{i:04d}"), demo.NAME) for i in range(1, n + 1)]


def test_every_value_verified_exits_with_the_runs_code() -> None:
    """Each repository's value decrypted to the one sent: the summary and 'verified' on stderr,
    and the exit code of the run (0 when every write was done)."""
    printed = Printed()
    done = demo.DemoResult(SetResult(summary_of(*written(3)), complete=True), [])
    assert demo.report(demo.DemoRequest(3), done, printed.output) == 0
    assert "created 3, updated 0" in printed.err
    assert (f"verified: fakehub decrypted {demo.NAME} in all 3 repositories to the value sent"
            in printed.err)
    assert printed.out == ""


def test_a_wrong_value_fails_the_demo() -> None:
    """A repository whose value fakehub did not decrypt to the one sent fails the demo (exit 1),
    naming one of them."""
    printed = Printed()
    done = demo.DemoResult(SetResult(summary_of(*written(3)), complete=True), ["acme/repo-0002"])
    assert demo.report(demo.DemoRequest(3), done, printed.output) == 1
    assert printed.err.splitlines()[-1] == ("verification FAILED: 1 of 3 repositories hold a "
                                            "wrong value, e.g. acme/repo-0002")


def test_a_failed_write_fails_the_demo_even_when_the_rest_verify() -> None:
    """A write that failed keeps the run's exit code 1, though every value that landed is
    right."""
    outcomes = [*written(2), outcome(Scope.of_repo("acme", "repo-0003"), demo.NAME,
                                     Result.FAILED, "502")]
    done = demo.DemoResult(SetResult(summary_of(*outcomes), complete=False), [])
    assert demo.report(demo.DemoRequest(3), done, Printed().output) == 1
