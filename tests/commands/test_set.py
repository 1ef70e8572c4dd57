"""`syncer set`: its flags → the frozen request, every usage problem at once; its report."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from syncer.commands import options
from syncer.commands import set as set_command
from syncer.commands.one_name import SetResult
from syncer.core.model import Result, Scope
from syncer.exits import UsageError
from syncer.sources import Source

from . import Printed, outcome, request, summary_of


def problems(*argv: str) -> str:
    with pytest.raises(UsageError) as refused:
        request(*argv)
    return str(refused.value)


def test_flags_make_a_frozen_request() -> None:
    """Every flag lands in its field of the request (the name upper-cased, --repos in order, the
    source parsed but not read); the request cannot be changed afterwards."""
    made = request("set", "deploy_key", "--org", "acme", "--repos", "svc-*", "--repos", "api",
                   "--value-from", "env:KEY", "--include-archived", "--state", "s.json",
                   "--fresh", "--report", "r.json")
    write = made.write
    assert (write.name, write.org, write.more_orgs, write.source) == (
        "DEPLOY_KEY", "acme", (), Source("env", "KEY"))
    assert (write.repos, write.include_archived, write.env, write.org_level, write.app,
            write.dry_run, write.target) == (("svc-*", "api"), True, None, False, "actions",
                                              False, "secret")
    assert (made.state, made.fresh, made.report) == ("s.json", True, "r.json")
    assert made.connection == options.Connection()
    assert made.app == options.AppOptions()
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.fresh = False


def test_org_secret_flags() -> None:
    """--org-level with --visibility selected and --repos asks for one org secret those
    repositories may read; --app picks the kind of secret."""
    write = request("set", "T", "--org", "acme", "--org-level", "--visibility", "selected",
                    "--repos", "web-*", "--app", "dependabot", "--value-from", "file:t").write
    assert (write.org_level, write.visibility, write.repos, write.app, write.source) == (
        True, "selected", ("web-*",), "dependabot", Source("file", "t"))


def test_a_repeated_org_is_kept_once_in_order() -> None:
    """--org given again (GitHub's names are case-insensitive) counts once; the first is where
    the request acts, the others follow in order."""
    write = request("set", "X", "--org", "acme", "--org", "ops", "--org", "ACME",
                    "--value-from", "env:X").write
    assert (write.org, write.more_orgs, write.orgs) == ("acme", ("ops",), ("acme", "ops"))


def test_all_orgs_names_no_org_yet() -> None:
    """--all-orgs leaves the orgs to be found once connected."""
    write = request("set", "X", "--all-orgs", "--value-from", "env:X").write
    assert (write.all_orgs, write.org, write.more_orgs) == (True, "", ())


def test_connection_and_app_flags_are_kept_as_given() -> None:
    """The GitHub flags are kept as typed, for settings_from to merge over the config; those not
    given stay None, so a config (or the default) decides them."""
    made = request("set", "X", "--org", "acme", "--value-from", "env:X",
                   "--api-url", "https://ghe.example/api/v3", "--token-env", "GHE_TOKEN",
                   "--concurrency", "4", "--writes-per-minute", "30", "--points-per-minute", "0",
                   "--no-wait", "--timeout", "5", "--key-cache",
                   "--app-id", "7", "--app-key", "env:APP_KEY", "--app-installation-id", "9")
    assert made.connection == options.Connection(
        api_url="https://ghe.example/api/v3", token_env="GHE_TOKEN", concurrency=4,
        writes_per_minute=30.0, points_per_minute=0.0, no_wait=True, timeout=5.0, key_cache=True)
    assert made.connection.ca_bundle is None and made.connection.allow_insecure_http is None
    assert made.app == options.AppOptions(7, "env:APP_KEY", 9)


def test_a_dry_run_needs_no_value() -> None:
    """--dry-run reads no value, so it needs no --value-from."""
    write = request("set", "X", "--org", "acme", "--dry-run").write
    assert write.dry_run and write.source is None


def test_every_usage_problem_is_listed_together() -> None:
    """A request with several mistakes is refused with all of them in one line, so a user
    fixes them in one go."""
    message = problems("set", "1bad", "--org", "acme", "--visibility", "all", "--env", "prod",
                       "--app", "dependabot")
    assert message == "; ".join([
        "secret name must not start with a digit (not repeated here, in case it is a value)",
        "--value-from is required (env:VAR, file:PATH, cmd:COMMAND or -); a value is never "
        "taken from the command line",
        "--visibility applies to org secrets: add --org-level",
        "environment secrets exist for Actions only",
    ])


def test_org_level_problems_are_listed_together() -> None:
    """--visibility selected without --repos (which would widen the selection to every
    repository) and --org-level with --env are both named."""
    message = problems("set", "X", "--org", "acme", "--org-level", "--visibility", "selected",
                       "--env", "prod", "--value-from", "env:X")
    assert "--visibility selected needs --repos GLOB" in message
    assert "--org-level and --env cannot be combined" in message


def test_repos_with_org_level_need_visibility_selected() -> None:
    """--repos with --org-level chooses who may read the org secret: only with --visibility
    selected, never as a side effect."""
    assert "add --visibility selected" in problems("set", "X", "--org", "acme", "--org-level",
                                                   "--repos", "api", "--value-from", "env:X")


@pytest.mark.parametrize(("value_from", "said"), [
    ("generate:32", "generate:N here would write a value nobody keeps"),
    ("hunter2secret", "the value source must be one of env:VAR, file:PATH, cmd:COMMAND or -"),
])
def test_a_value_source_set_cannot_use_is_refused(value_from: str, said: str) -> None:
    """generate:N (a value nobody would keep) and what is no source at all are refused before
    anything is read; what may be a value typed by mistake is not repeated."""
    message = problems("set", "X", "--org", "acme", "--value-from", value_from)
    assert said in message
    assert "hunter2secret" not in message


def test_report_shows_the_summary_and_returns_the_runs_code(tmp_path: Path) -> None:
    """After writing, the summary goes to stderr (failures named with why), nothing to stdout,
    and an incomplete run exits 1; --report gets the same code and one target per outcome."""
    made = request("set", "X", "--org", "acme", "--value-from", "env:X",
                   "--report", str(tmp_path / "run.json"))
    summary = summary_of(outcome(Scope.of_repo("acme", "api"), "X"),
                         outcome(Scope.of_repo("acme", "web"), "X", Result.FAILED, "403 denied"))
    printed = Printed()
    code = set_command.report(made, SetResult(summary, complete=False), printed.output)
    assert code == 1
    assert printed.out == ""
    assert "created 1, updated 0, deleted 0, failed 1" in printed.err
    assert "failed: X in acme/web: 403 denied" in printed.err
    written = json.loads((tmp_path / "run.json").read_text())
    assert (written["command"], written["exit_code"], len(written["targets"])) == ("set", 1, 2)


def test_report_of_a_dry_run_prints_no_summary() -> None:
    """A dry run wrote nothing: no summary of writes (its lines were printed as targets were
    found), and a complete run exits 0."""
    made = request("set", "X", "--org", "acme", "--dry-run")
    printed = Printed()
    assert set_command.report(made, SetResult(summary_of(), complete=True), printed.output) == 0
    assert (printed.out, printed.err) == ("", "")
