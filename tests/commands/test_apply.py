"""`syncer apply`: a config or a saved plan → the frozen request, and its refusals; its report:
the summary, the exit code (5 with --detailed-exitcode for drift undone, 2 for a saved plan
that no longer holds), the JSON report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from syncer.commands import apply
from syncer.commands.sync import SyncResult, SyncRun
from syncer.core.model import Result, Scope
from syncer.core.plan import Change, PlanItem
from syncer.exits import UsageError
from syncer.store.saved_plan import Changed, Difference, PlanChanged

from . import Printed, outcome, request, summary_of

API = Scope.of_repo("acme", "api")
WEB = Scope.of_repo("acme", "web")
CONFIG_INFO = {"path": "/s.toml", "sha256": "0"}


def test_a_config_makes_an_applying_request() -> None:
    """apply -c FILE: the request applies that config; no saved plan."""
    made = request("apply", "-c", "s.toml", "--prune", "--detailed-exitcode", "--fresh")
    assert (made.apply, made.config, made.plan_file, made.prune, made.detailed_exitcode,
            made.fresh, made.format, made.out) == (
        True, "s.toml", None, True, True, True, "text", None)


def test_a_saved_plan_makes_an_applying_request() -> None:
    """apply PLAN: the saved plan names its config, so no -c."""
    made = request("apply", "plan.json", "--format", "json")
    assert (made.apply, made.config, made.plan_file, made.format) == (
        True, None, "plan.json", "json")


@pytest.mark.parametrize(("argv", "said"), [
    ((), "apply needs -c CONFIG, or a PLAN saved by plan --out"),
    (("plan.json", "-c", "s.toml"),
     "apply takes a saved PLAN or -c CONFIG, not both (the plan names its config)"),
    (("plan.json", "--prune"), "--prune is part of the saved plan: plan --out again with --prune"),
])
def test_what_apply_refuses(argv: tuple[str, ...], said: str) -> None:
    """Neither a config nor a plan, both, or --prune beside a saved plan (which decided that
    when it was made): each refused as a usage error."""
    with pytest.raises(UsageError) as refused:
        request("apply", *argv)
    assert str(refused.value) == said


# --- report ----------------------------------------------------------------------------------

def applied(items: tuple[PlanItem, ...], outcomes: tuple = (), shown: bool = False) -> SyncRun:
    return SyncRun(SyncResult(list(items), list(outcomes), summary_of(*outcomes)), CONFIG_INFO,
                   shown)


def reported(made: object, run: SyncRun) -> tuple[int, Printed]:
    printed = Printed()
    return apply.report(made, run, printed.output), printed


DRIFTED = PlanItem(Change.DRIFTED, API, "X", why="changed on GitHub")
REWRITTEN = outcome(API, "X", Result.UPDATED)


@pytest.mark.parametrize(("flags", "items", "outcomes", "code"), [
    ((), (DRIFTED,), (REWRITTEN,), 0),
    (("--detailed-exitcode",), (DRIFTED,), (REWRITTEN,), 5),
    (("--detailed-exitcode",), (PlanItem(Change.CREATE, API, "X"),),
     (outcome(API, "X", Result.CREATED),), 0),
    (("--detailed-exitcode",), (PlanItem(Change.PRUNE, API, "OLD"),),
     (outcome(API, "OLD", Result.DELETED),), 5),
    (("--detailed-exitcode",), (PlanItem(Change.PRUNE, API, "OLD", written_by_syncer=True),),
     (outcome(API, "OLD", Result.DELETED),), 0),
    (("--detailed-exitcode",), (DRIFTED,), (outcome(API, "X", Result.FAILED, "502"),), 1),
    ((), (PlanItem(Change.UNCHANGED, API, "X"),), (), 0),
])
def test_the_exit_code_says_what_was_undone(flags: tuple[str, ...], items: tuple[PlanItem, ...],
                                            outcomes: tuple, code: int) -> None:
    """0 when every write was done; with --detailed-exitcode 5 when apply undid a change made
    on GitHub (drift rewritten, a secret syncer never wrote pruned), not for a config change;
    1 for a failed write, which 5 does not hide."""
    assert reported(request("apply", "-c", "s.toml", *flags), applied(items, outcomes))[0] == code


def test_missing_and_unreadable_targets_exit_1_with_a_count_each() -> None:
    """Targets that do not exist or could not be read are not among the outcomes: each kind is
    counted on stderr and the run exits 1."""
    items = (PlanItem(Change.MISSING_TARGET, API, "X", why="repository api does not exist"),
             PlanItem(Change.UNREADABLE, WEB, "X", why="403"))
    code, printed = reported(request("apply", "-c", "s.toml"), applied(items))
    assert code == 1
    lines = printed.err.splitlines()
    assert lines[-2].startswith("missing 1: the config names environments or repositories that "
                                "do not exist")
    assert lines[-1].startswith("unreadable 1: GitHub would not show what these scopes hold")


def test_the_changes_are_listed_unless_shown_before_writing() -> None:
    """What changed is listed on stderr before the summary, unless the terminal was shown the
    plan before the writes began."""
    items = (PlanItem(Change.CREATE, API, "X"),)
    outcomes = (outcome(API, "X", Result.CREATED),)
    _, printed = reported(request("apply", "-c", "s.toml"), applied(items, outcomes))
    assert printed.err.splitlines()[:2] == ["X: create 1", "  create         acme/api"]
    _, shown = reported(request("apply", "-c", "s.toml"), applied(items, outcomes, shown=True))
    assert shown.err.splitlines()[0].startswith("created 1, updated 0")
    assert printed.out == shown.out == ""


def test_json_format_prints_the_report_on_stdout(tmp_path: Path) -> None:
    """--format json prints the run report, the one --report writes, on stdout."""
    made = request("apply", "-c", "s.toml", "--format", "json", "--report",
                   str(tmp_path / "r.json"))
    code, printed = reported(made, applied((DRIFTED,), (REWRITTEN,)))
    shown = json.loads(printed.out)
    assert (code, shown["command"], shown["exit_code"], len(shown["targets"])) == (0, "apply", 0, 1)
    assert json.loads((tmp_path / "r.json").read_text())["targets"] == shown["targets"]


def test_a_saved_plan_that_no_longer_holds_exits_2(tmp_path: Path) -> None:
    """apply PLAN refused because GitHub or a value changed since: one error line, exit 2, and
    the --report lists each change with its code."""
    made = request("apply", "plan.json", "--report", str(tmp_path / "r.json"))
    refused = PlanChanged("plan.json: 1 target changed since the plan was saved; nothing was "
                          "written", [Changed(Difference.VALUE_CHANGED, "X", "acme/api",
                                              "X in acme/api: the value changed")])
    code, printed = reported(made, SyncRun(None, CONFIG_INFO, refused=refused))
    assert code == 2
    assert printed.err == ("syncer: error: plan.json: 1 target changed since the plan was saved; "
                           "nothing was written\n")
    written = json.loads((tmp_path / "r.json").read_text())
    assert written["exit_code"] == 2
    assert written["saved_plan_changes"] == [{"code": "value_changed", "secret": "X",
                                              "scope": "acme/api",
                                              "message": "X in acme/api: the value changed"}]
