"""The versioned JSON report (`--report PATH`, `apply --format json`): every command's report
validates against the schema shipped in the package, and its counts are the text summary's."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from helpers import TOKEN, config_toml, github_env, managed, org_hub, run_cli, write_config

from syncer.core.plan import Change, Reason
from syncer.fakehub import FakeHub
from syncer.fakehub.rules import ApiError
from syncer.observe import report
from syncer.store import saved_plan

CANARY = "report-canary-5521"
CONFIG = config_toml(managed("secret", "API_KEY", "env:API_VALUE", repos=["repo-*"]),
                     managed("secret", "ORG_KEY", "env:API_VALUE", visibility="private"))


@pytest.fixture
def hub() -> FakeHub:
    return org_hub(12)  # limits off, as the config says


@pytest.fixture
def env(url: str) -> dict[str, str]:
    return github_env(url, API_VALUE=CANARY)


def run(args: list[str], env: dict[str, str], monkeypatch, tmp_path: Path,
        name: str = "report.json") -> tuple[int, dict[str, Any]]:
    path = tmp_path / name
    code = run_cli([*args, "--quiet", "--report", str(path)], env, monkeypatch)
    text = path.read_text()
    assert CANARY not in text and TOKEN not in text
    found = json.loads(text)
    jsonschema.validate(found, report.schema(),
                        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    assert found["exit_code"] == code
    return code, found


def text_outcomes(err: str) -> dict[str, int]:
    """The counts of the text summary's first line."""
    line = re.search(r"created (\d+), updated (\d+), deleted (\d+), failed (\d+), "
                     r"not written (\d+)", err)
    assert line, err
    return dict(zip(("created", "updated", "deleted", "failed", "not_written"),
                    map(int, line.groups()), strict=False))


def text_plan(out: str) -> dict[str, int]:
    """The counts of the text plan's last line, as snake_case keys."""
    line = next(li for li in out.splitlines() if li.startswith("plan: "))
    pairs = [part.rsplit(" ", 1) for part in line.removeprefix("plan: ").split(", ")]
    return {k.replace(" ", "_"): int(v) for k, v in pairs}


def outcomes_of(found: dict[str, Any]) -> dict[str, int]:
    return {k: v for k, v in found["counts"]["outcomes"].items() if k != "unchanged"}


def sync_args(command: str, tmp_path: Path) -> list[str]:
    config = write_config(tmp_path, CONFIG)
    return [command, "-c", str(config), "--state", str(tmp_path / "state" / "state.json")]


def test_plan_and_apply_reports_validate_and_count_as_the_text_does(
        hub, env, tmp_path, monkeypatch, capsys) -> None:
    """plan's report counts its text plan; apply's counts its text summary, lists a failed
    target with a typed failure code and GitHub's status, and the rest as created; a second
    apply reports every target unchanged, in_sync."""
    capsys.readouterr()
    code, planned = run(sync_args("plan", tmp_path), env, monkeypatch, tmp_path)
    out = capsys.readouterr().out
    assert code == 0 and planned["command"] == "plan"
    assert planned["counts"]["plan"] == text_plan(out)
    assert planned["counts"]["plan"]["create"] == 13
    assert {t["outcome"] for t in planned["targets"]} == {"planned"}
    assert {t["reason"] for t in planned["targets"]} == {"absent"}

    def refuse_the_fifth_put(method: str, template: str, so_far: int) -> None:
        if method == "PUT" and template.endswith("/secrets/{secret_name}") and so_far == 5:
            raise ApiError(422, "Unprocessable")

    hub.on_request = refuse_the_fifth_put
    code, applied = run(sync_args("apply", tmp_path), env, monkeypatch, tmp_path)
    err = capsys.readouterr().err
    assert code == 1
    assert outcomes_of(applied) == text_outcomes(err)
    assert applied["counts"]["outcomes"]["created"] == 12
    failed = [t for t in applied["targets"] if t["outcome"] == "failed"]
    assert len(failed) == 1
    assert failed[0]["failure"]["code"] == "github_error"
    assert failed[0]["failure"]["http_status"] == 422
    assert applied["pacing"]["pace"] is not None  # the config's points_per_minute = 0: off
    assert applied["pacing"]["pace"] == {"writes_per_minute": None, "points_per_minute": None}
    assert applied["config"]["path"] == str((tmp_path / "syncer.toml").resolve())

    hub.on_request = None
    code, again = run(sync_args("apply", tmp_path), env, monkeypatch, tmp_path)
    err = capsys.readouterr().err
    assert code == 0
    assert outcomes_of(again) == text_outcomes(err)
    assert again["counts"]["outcomes"]["created"] == 1  # the one that failed before
    assert again["counts"]["outcomes"]["unchanged"] == 12
    assert again["counts"]["plan"]["unchanged"] == 12


def test_drift_and_unreadable_scopes_are_reported_with_codes(
        hub, env, tmp_path, monkeypatch, capsys) -> None:
    """A secret changed by hand on GitHub is drift (changed_on_github, with GitHub's time);
    a repository whose secrets GitHub will not list is unread, scope_unreadable."""
    assert run_cli([*sync_args("apply", tmp_path), "--quiet"], env, monkeypatch) == 0
    by_hand = {"acme/repo-0003", "acme/repo-0007"}
    for repo in by_hand:
        hub.set_secret("API_KEY", b"by hand", repo=repo, updated_at=datetime(2099, 1, 1, tzinfo=UTC))

    refused: list[int] = []

    def refuse_one_listing(method: str, template: str, so_far: int) -> None:
        if template == "/repos/{owner}/{repo}/actions/secrets" and not refused:
            refused.append(so_far)
            raise ApiError(403, "Resource protected by organization SAML enforcement.")

    hub.on_request = refuse_one_listing
    code, found = run(sync_args("plan", tmp_path), env, monkeypatch, tmp_path)
    assert code == 1
    assert len(found["unread"]) == 1
    unread = found["unread"][0]["place"]
    assert {d["scope"] for d in found["drift"]} == by_hand - {unread}
    assert {d["reason"] for d in found["drift"]} == {"changed_on_github"}
    assert all(d["github_updated_at"].startswith("2099-01-01") for d in found["drift"])
    assert found["unread"][0]["code"] == "scope_unreadable"
    assert "SAML" in found["unread"][0]["message"]
    assert found["counts"]["plan"]["unreadable"] == 1


def test_apply_format_json_prints_the_report(env, tmp_path, monkeypatch, capsys) -> None:
    """`apply --format json` prints the same report on stdout (the text goes to stderr), with
    the pace asked for."""
    capsys.readouterr()
    code = run_cli([*sync_args("apply", tmp_path), "--quiet", "--format", "json",
                    "--writes-per-minute", "6000"], env, monkeypatch)
    captured = capsys.readouterr()
    printed = json.loads(captured.out)
    jsonschema.validate(printed, report.schema())
    assert code == printed["exit_code"] == 0
    assert outcomes_of(printed) == text_outcomes(captured.err)
    assert CANARY not in captured.out
    assert printed["pacing"]["pace"] == {"writes_per_minute": 6000, "points_per_minute": None}
    assert printed["pacing"]["current_pace"] == printed["pacing"]["pace"]


def test_set_rotate_and_audit_reports_validate_and_count_as_the_text_does(
        hub, env, tmp_path, monkeypatch, capsys) -> None:
    """set's and rotate's reports list each target written with why (requested,
    secret_lives_here) and count as their text summary; audit's counts the secrets it lists."""
    capsys.readouterr()
    common = ["--org", "acme", "--value-from", "env:API_VALUE",
              "--state", str(tmp_path / "state.json")]
    code, found = run(["set", "DEPLOY", *common, "--repos", "repo-000*"], env, monkeypatch,
                      tmp_path, "set.json")
    assert code == 0 and found["command"] == "set"
    assert outcomes_of(found) == text_outcomes(capsys.readouterr().err)
    assert found["counts"]["outcomes"]["created"] == 9
    assert {t["reason"] for t in found["targets"]} == {"requested"}

    code, found = run(["rotate", "DEPLOY", *common], env, monkeypatch, tmp_path, "rotate.json")
    assert code == 0 and found["command"] == "rotate"
    assert outcomes_of(found) == text_outcomes(capsys.readouterr().err)
    assert found["counts"]["outcomes"]["updated"] == 9
    assert {t["reason"] for t in found["targets"]} == {"secret_lives_here"}

    code, found = run(["audit", "--org", "acme", "--format", "json"], env, monkeypatch,
                      tmp_path, "audit.json")
    listed = json.loads(capsys.readouterr().out)
    assert code == 0 and found["counts"]["secrets"] == len(listed) == 9


def test_a_rotation_that_finds_nothing_still_reports() -> None:
    """The report of a run that wrote nothing holds its exit code and empty counts (built
    from the same pieces the CLI passes when rotate finds the secret nowhere)."""
    found = report.build("rotate", 1, None, now=1e9, started_at=1e9 - 2)
    jsonschema.validate(found, report.schema())
    assert found["durations"]["since_process_start_seconds"] == 2
    assert found["counts"]["outcomes"] == dict.fromkeys(
        ("created", "updated", "deleted", "failed", "not_written", "unchanged"), 0)


def test_the_schema_names_every_code_syncer_can_write() -> None:
    """The schema is a valid 2020-12 JSON Schema, and its enums are exactly the Python enums'
    codes: neither can grow alone."""
    jsonschema.Draft202012Validator.check_schema(report.schema())
    props = report.schema()["properties"]
    target = props["targets"]["items"]["properties"]
    assert set(target["outcome"]["enum"]) == {o.value for o in report.TargetOutcome}
    assert set(target["change"]["enum"]) == {report.code(c) for c in Change} | {None}
    assert set(target["reason"]["enum"]) == ({r.value for r in Reason}
                                             | {r.value for r in report.WriteReason} | {None})
    failure = target["failure"]["properties"]["code"]["enum"]
    assert set(failure) == {f.value for f in report.Failure}
    unread = props["unread"]["items"]["properties"]["code"]["enum"]
    assert set(unread) == {u.value for u in report.Unread}
    changes = props["saved_plan_changes"]["items"]["properties"]["code"]["enum"]
    assert set(changes) == {d.value for d in saved_plan.Difference}
    keys = json.dumps(props)
    assert not re.search(r'"[a-z]+ [a-z]+":', keys)  # snake_case keys only


def test_migrate_report_validates_and_counts_as_its_text_does(tmp_path, monkeypatch,
                                                              capsys) -> None:
    """migrate's report counts its targets as its text report's counts line does (snake_case),
    and lists each written target as created."""
    hub = org_hub(3, "src", "dst")
    hub.set_secret("API_KEY", b"old", repo="src/repo-0001")
    hub.set_secret("ORG_TOKEN", b"old", org="src", visibility="private")
    values = tmp_path / "values.toml"
    values.write_text(f"API_KEY = '{CANARY}'\nORG_TOKEN = '{CANARY}'\n")
    capsys.readouterr()
    with hub.serve_in_thread() as url:
        code, found = run(["migrate", "--from", "src", "--to", "dst", "--values", str(values),
                           "--state", str(tmp_path / "state.json"), "--points-per-minute", "0"],
                          github_env(url), monkeypatch, tmp_path)
    out = capsys.readouterr().out
    assert code == 0 and found["command"] == "migrate"
    counts_line = out.splitlines()[1]
    pairs = [part.rsplit(" ", 1) for part in counts_line.split(", ")]
    assert found["counts"]["migration"] == {k.replace(" ", "_"): int(v) for k, v in pairs}
    assert found["counts"]["migration"]["migrated"] == 2
    assert found["counts"]["outcomes"]["created"] == 2
    assert {t["outcome"] for t in found["targets"]} == {"created"}


def test_targets_an_interrupted_run_wrote_are_told_apart() -> None:
    """A resumed run's report marks what the interrupted run had already written as
    done_by_interrupted_run (not not_written), for plan items and for set/rotate targets."""
    from syncer.core.model import Action, Op, Outcome, Result, Scope
    from syncer.core.plan import PlanItem

    a, b = Scope.of_repo("acme", "a"), Scope.of_repo("acme", "b")
    plan = [PlanItem(Change.CREATE, a, "S", reason=Reason.ABSENT),
            PlanItem(Change.CREATE, b, "S", reason=Reason.ABSENT)]
    written = [Outcome(Action(Op.PUT, b, "S"), Result.CREATED)]
    targets = report.plan_targets(plan, written, [Action(Op.PUT, a, "S")])
    assert [t["outcome"] for t in targets] == ["done_by_interrupted_run", "created"]
    rotated = report.write_targets(written, report.WriteReason.SECRET_LIVES_HERE, [(a, "S")])
    assert [(t["scope"], t["outcome"]) for t in rotated] == [
        ("acme/b", "created"), ("acme/a", "done_by_interrupted_run")]
    jsonschema.validate(report.build("apply", 0, None, targets=targets), report.schema())



@pytest.mark.parametrize(("reason", "why"), [
    ("INTERRUPTED", "interrupted"),
    ("BUDGET_SPENT", "rate limit budget spent until {reset}"),
    ("UNREACHABLE", "GitHub out of reach (no answer)"),
    ("UNRECORDED", "cannot append to the journal"),
])
def test_why_a_stop_kept_a_write_back_is_worded_only_where_it_is_printed(
        reason: str, why: str) -> None:
    """An outcome a stop kept back carries the stop as data (no prose in its error); the
    summary line and the JSON report's failure message word it, the same way, for each kind."""
    from syncer.core.model import Action, Op, Outcome, Result, Scope, Stop, StopReason
    from syncer.github.pacing import local_time
    from syncer.observe.summary import render, summarize

    reset = 1_800_000_000.0
    detail = {"UNREACHABLE": "no answer", "UNRECORDED": "cannot append to the journal"}
    stop = StopReason(Stop[reason], detail.get(reason, ""),
                      reset if reason == "BUDGET_SPENT" else None)
    kept_back = Outcome(Action(Op.PUT, Scope.of_repo("acme", "a"), "S"), Result.SKIPPED,
                        stopped_by=stop)
    assert kept_back.error is None
    why = why.format(reset=local_time(reset))
    text = render(summarize([kept_back], requests=0, retries=0, waits=0, wait_seconds=0,
                            seconds=0))
    assert f"  not written: S in acme/a: {why}" in text.splitlines()
    (target,) = report.write_targets([kept_back], report.WriteReason.REQUESTED)
    assert target["failure"] == {"code": "stopped", "http_status": None,
                                 "message": f"not written: {why}"}
