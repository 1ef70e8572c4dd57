"""`syncer rotate`: its flags → the frozen request, every usage problem; its report: the proof
lines, and the exit code (not found, unread, failed)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from syncer.commands import options, rotate
from syncer.core.model import OrgSelection, Result, Scope
from syncer.execution.discover import Locations
from syncer.exits import UsageError
from syncer.sources import Source

from . import Printed, outcome, refused_by_parser, request, summary_of

ORG = Scope.of_org("acme")
API = Scope.of_repo("acme", "api")
PROD = Scope.of_env("acme", "api", "production")


def problems(*argv: str) -> str:
    with pytest.raises(UsageError) as refused:
        request(*argv)
    return str(refused.value)


def test_flags_make_a_frozen_request() -> None:
    """Every flag lands in its field; without --app every kind of secret is looked in, and the
    org secret is rotated too."""
    made = request("rotate", "npm_token", "--org", "acme", "--org", "ops",
                   "--value-from", "env:NEW", "--include-archived", "--state", "s.json",
                   "--report", "r.json")
    rotation = made.rotation
    assert (rotation.name, rotation.org, rotation.more_orgs, rotation.app,
            rotation.include_archived, rotation.dry_run, rotation.org_secret) == (
        "NPM_TOKEN", "acme", ("ops",), None, True, False, True)
    assert rotation.apps == ("actions", "dependabot", "codespaces", "agents")
    assert (made.source, made.generate, made.output, made.state, made.report) == (
        Source("env", "NEW"), None, None, "s.json", "r.json")
    assert made.connection == options.Connection()
    assert made.how_to_resume == "resume with the same command"
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.source = None


def test_repos_leave_the_org_secret_unless_asked() -> None:
    """--repos narrows the rotation to repository and environment secrets; --with-org-secret
    takes the org secret back in."""
    assert not request("rotate", "X", "--org", "acme", "--repos", "svc-*",
                       "--value-from", "env:X").rotation.org_secret
    assert request("rotate", "X", "--org", "acme", "--repos", "svc-*", "--with-org-secret",
                   "--value-from", "env:X").rotation.org_secret


def test_a_generated_value_resumes_from_its_output_file() -> None:
    """--generate N --output PATH: no source; a run stopped after writing began is resumed
    with the saved file as the source, not by generating another value."""
    made = request("rotate", "X", "--org", "acme", "--generate", "32", "--output", "new-x")
    assert (made.source, made.generate, made.output) == (None, 32, "new-x")
    assert made.how_to_resume == ("resume with --value-from file:new-x in place of --generate "
                                  "and --output")


def test_a_dry_run_needs_no_value() -> None:
    """--dry-run reads no value; --all-orgs leaves the orgs to be found."""
    made = request("rotate", "X", "--all-orgs", "--dry-run", "--app", "actions")
    assert (made.source, made.generate, made.rotation.dry_run, made.rotation.all_orgs,
            made.rotation.apps) == (None, None, True, True, ("actions",))


def test_every_usage_problem_is_listed_together() -> None:
    """--with-org-secret without --repos, --generate without --output and a size out of range
    are refused in one line."""
    assert problems("rotate", "X", "--org", "acme", "--with-org-secret", "--generate", "8") == (
        "--with-org-secret goes with --repos (without it the org secret is rotated anyway); "
        "--generate needs --output PATH, so the new value is kept somewhere; "
        "--generate N: N must be from 16 to 4096 bytes")


def test_a_value_is_required_outside_a_dry_run() -> None:
    """Without --dry-run, a new value must come from somewhere."""
    assert problems("rotate", "X", "--org", "acme") == (
        "--value-from SOURCE or --generate N is required (a --dry-run needs neither)")


@pytest.mark.parametrize(("value_from", "said"), [
    ("generate:32", "--value-from generate:N would write a value nobody keeps; use --generate "
                    "N --output PATH"),
    ("s3cr3t-typed-here", "the value source must be one of env:VAR, file:PATH, cmd:COMMAND"),
])
def test_a_value_source_rotate_cannot_use_is_refused(value_from: str, said: str) -> None:
    """generate:N as a source (the value would be kept nowhere) and what is no source are
    refused; what may be a value typed by mistake is not repeated."""
    message = problems("rotate", "X", "--org", "acme", "--value-from", value_from)
    assert said in message and "s3cr3t" not in message


def test_a_bad_name_is_refused() -> None:
    """A name GitHub would refuse is refused before anything is read."""
    assert problems("rotate", "GITHUB_X", "--org", "acme", "--value-from", "env:X") == (
        "secret name must not start with GITHUB_ (reserved by GitHub)")


def test_value_from_and_generate_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    """Two sources of the new value are refused as the arguments are parsed (exit 2)."""
    err = refused_by_parser(capsys, "rotate", "X", "--org", "acme",
                            "--value-from", "env:X", "--generate", "32")
    assert "not allowed with argument" in err


# --- report ----------------------------------------------------------------------------------

def found(org: OrgSelection | None = None, repos: tuple[Scope, ...] = (),
          envs: tuple[Scope, ...] = (), unreadable: tuple[tuple[str, str], ...] = (),
          app: str = "actions") -> rotate.Found:
    return rotate.Found("acme", app, Locations(org, list(repos), list(envs), list(unreadable)))


def result(*where: rotate.Found, outcomes: tuple = (), shadowed: tuple[Scope, ...] = (),
           earlier: tuple[Scope, ...] = ()) -> rotate.RotateResult:
    return rotate.RotateResult(list(where), list(outcomes), list(shadowed),
                               summary_of(*outcomes), list(earlier))


def reported(made: rotate.RotateCommandRequest, done: rotate.RotateResult) -> tuple[int, Printed]:
    printed = Printed()
    return rotate.report(made, done, printed.output), printed


def test_each_place_written_is_printed_as_proof() -> None:
    """One line per place on stdout, the org secret with who may read it; the summary on
    stderr; exit 0 when every place was written."""
    made = request("rotate", "X", "--org", "acme", "--value-from", "env:X")
    selection = OrgSelection("selected", (1, 2))
    done = result(found(selection, (API,), (PROD,)),
                  outcomes=(outcome(ORG, "X", Result.UPDATED), outcome(API, "X", Result.UPDATED),
                            outcome(PROD, "X", Result.UPDATED)))
    code, printed = reported(made, done)
    assert code == 0
    assert printed.out.splitlines() == ["updated  X in acme", "updated  X in acme/api",
                                        "updated  X in acme/api:production"]
    assert "created 0, updated 3, deleted 0, failed 0" in printed.err


def test_a_failed_place_exits_1() -> None:
    """A place that could not be written is printed with why, and the run exits 1."""
    made = request("rotate", "X", "--org", "acme", "--value-from", "env:X")
    done = result(found(None, (API,)), outcomes=(outcome(API, "X", Result.FAILED, "403 no"),))
    code, printed = reported(made, done)
    assert code == 1
    assert printed.out == "failed   X in acme/api: 403 no\n"


def test_a_place_written_by_the_interrupted_run_is_listed_first() -> None:
    """A resumed run lists the places the interrupted run had done, then its own."""
    made = request("rotate", "X", "--org", "acme", "--value-from", "env:X")
    done = result(found(None, (API, PROD)), outcomes=(outcome(PROD, "X", Result.UPDATED),),
                  earlier=(API,))
    code, printed = reported(made, done)
    assert code == 0
    assert printed.out.splitlines() == ["done     X in acme/api (by the interrupted run)",
                                        "updated  X in acme/api:production"]


@pytest.mark.parametrize(("app", "places"), [
    (None, "org, repositories or environments; actions, dependabot, codespaces, agents secrets"),
    ("actions", "org, repositories or environments"),
    ("dependabot", "Dependabot: org or repositories"),
    ("codespaces", "codespaces: org or repositories"),
])
def test_a_name_found_nowhere_exits_1_saying_where_it_was_looked_for(
        app: str | None, places: str, tmp_path: Path) -> None:
    """Found nowhere (a typo, most likely): one error line naming the orgs and the kinds of
    secret looked in, exit 1, and the --report says 1 too."""
    app_flag = ("--app", app) if app else ()
    made = request("rotate", "X", "--org", "acme", "--org", "ops", "--value-from", "env:X",
                   *app_flag, "--report", str(tmp_path / "run.json"))
    code, printed = reported(made, result(found()))
    assert code == 1
    assert printed.out == ""
    assert printed.err == f"syncer: error: X was not found in acme or ops ({places})\n"
    assert json.loads((tmp_path / "run.json").read_text())["exit_code"] == 1


def test_found_nowhere_readable_counts_the_unread_repositories() -> None:
    """Not found, but some repositories could not be searched: the error says how many."""
    made = request("rotate", "X", "--org", "acme", "--value-from", "env:X", "--app", "actions")
    code, printed = reported(made, result(found(unreadable=(("acme/web", "403 Forbidden"),))))
    assert code == 1
    assert printed.err.endswith("(org, repositories or environments); 1 repositories could not "
                                "be searched (listed above)\n")


def test_only_the_org_secret_found_under_repos_exits_1() -> None:
    """With --repos, an org secret alone is no place to rotate: exit 1, saying how to include
    it."""
    made = request("rotate", "X", "--org", "acme", "--repos", "svc-*", "--value-from", "env:X")
    code, printed = reported(made, result(found(OrgSelection("all"))))
    assert code == 1
    assert printed.err == ("syncer: error: X was not found in the repositories --repos selects; "
                           "the org secret was left as is (add --with-org-secret to rotate it)\n")


def test_an_unread_repository_exits_1_after_writing_the_rest() -> None:
    """A repository GitHub would not show is printed as unread (the secret may live there),
    and said last on stderr; exit 1 even though every found place was written."""
    made = request("rotate", "X", "--org", "acme", "--value-from", "env:X")
    done = result(found(None, (API,), unreadable=(("acme/web", "403 Forbidden"),)),
                  outcomes=(outcome(API, "X", Result.UPDATED),))
    code, printed = reported(made, done)
    assert code == 1
    assert printed.out.splitlines() == [
        "updated  X in acme/api", "unread   acme/web: could not look for X there (403 Forbidden)"]
    assert printed.err.splitlines()[-1] == (
        "unread 1: repositories GitHub would not show (listed above, with why); X may live "
        "there too, with its old value")


def test_a_dry_run_lists_where_it_would_write() -> None:
    """A dry run prints each place it would rotate, the org secret with who may read it, and
    no summary of writes."""
    made = request("rotate", "X", "--org", "acme", "--dry-run")
    code, printed = reported(made, result(found(OrgSelection("private"), (API,))))
    assert code == 0
    assert printed.out.splitlines() == [
        "would rotate X in acme (org secret, visibility private)", "would rotate X in acme/api"]
    assert printed.err == ""


def test_shadowing_and_an_org_secret_left_as_is_are_warned_about() -> None:
    """Repository secrets that hide the org secret are counted in a warning; with --repos, the
    org secret left as is is said too."""
    made = request("rotate", "X", "--org", "acme", "--repos", "api", "--value-from", "env:X")
    done = result(found(OrgSelection("all"), (API,)),
                  outcomes=(outcome(API, "X", Result.UPDATED),), shadowed=(API,))
    code, printed = reported(made, done)
    assert code == 0
    lines = printed.err.splitlines()
    assert lines[0].startswith("warning: the org secret X was left as is")
    assert lines[1] == ("warning: 1 repository/environment secret named X shadows the org "
                        "secret; workflows there use it, not the org secret")
