"""Saved plans: `plan --out FILE` keeps the reviewed plan (no values); `apply FILE` writes
exactly it, or nothing (exit 2, naming what changed) if the config, a value or GitHub changed."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
from helpers import (
    ANSI,
    TOKEN,
    config_toml,
    fakehub_process,
    github_env,
    managed,
    org_hub,
    progress_frames,
    run_cli,
    run_on_terminal,
    write_config,
)

from syncer.fakehub import FakeHub
from syncer.observe import report
from syncer.store import saved_plan

CANARY = "saved-plan-canary-9043"
CONFIG = config_toml(managed("secret", "API_KEY", "env:API_VALUE", repos=["repo-*"]),
                     managed("secret", "ORG_KEY", "env:API_VALUE", visibility="selected",
                             selected=["repo-000*"]))


@pytest.fixture
def hub() -> FakeHub:
    return org_hub(10)  # limits off, as the config says


@pytest.fixture
def paths(tmp_path: Path) -> dict[str, str]:
    return {"config": str(write_config(tmp_path, CONFIG)),
            "state": str(tmp_path / "state" / "state.json"), "plan": str(tmp_path / "plan.json")}


def env_for(url: str, value: str = CANARY) -> dict[str, str]:
    return github_env(url, API_VALUE=value)


def plan_out(url: str, paths: dict[str, str], monkeypatch, *extra: str) -> int:
    return run_cli(["plan", "-c", paths["config"], "--state", paths["state"], "--quiet",
                    "--out", paths["plan"], *extra], env_for(url), monkeypatch)


def apply_saved(url: str, paths: dict[str, str], monkeypatch, value: str = CANARY) -> int:
    return run_cli(["apply", paths["plan"], "--quiet"], env_for(url, value), monkeypatch)


def test_apply_of_a_saved_plan_writes_exactly_the_planned_targets(hub, url, paths,
                                                                   monkeypatch) -> None:
    """plan --out saves every target with its keyed fingerprint and no value; apply PLAN
    (its state and config found through the plan) writes exactly the 11 planned targets, and
    applying the same plan again is refused: GitHub now shows them written."""
    assert plan_out(url, paths, monkeypatch) == 0
    text = Path(paths["plan"]).read_text()
    assert CANARY not in text
    saved = json.loads(text)
    assert saved["config"]["path"] == str(Path(paths["config"]).resolve())
    assert [i["change"] for i in saved["items"]] == ["create"] * 11
    assert all(i["fingerprint"].startswith("hmac-sha256:") for i in saved["items"])
    org = next(i for i in saved["items"] if i["kind"] == "org")
    assert org["selection"]["visibility"] == "selected"
    assert hub.count("PUT") == 0

    assert apply_saved(url, paths, monkeypatch) == 0
    puts = hub.count("PUT", "/repos/{owner}/{repo}/actions/secrets/{secret_name}")
    assert puts == 10 and hub.count("PUT", "/orgs/{org}/actions/secrets/{secret_name}") == 1
    assert hub.plaintext("API_KEY", repo="acme/repo-0010") == CANARY.encode()

    hub.reset_counters()
    assert apply_saved(url, paths, monkeypatch) == 2
    assert hub.count("PUT") == 0


def test_a_value_changed_since_the_plan_is_refused_and_nothing_written(
        hub, url, paths, monkeypatch, capsys, tmp_path) -> None:
    """The value behind API_KEY changed between plan and apply: exit 2, no write at all, and
    the refusal names a target whose value changed (the value itself never shown); --report
    lists every target that changed with a code."""
    assert plan_out(url, paths, monkeypatch) == 0
    capsys.readouterr()
    report_path = tmp_path / "refused.json"
    assert run_cli(["apply", paths["plan"], "--quiet", "--report", str(report_path)],
                   env_for(url, "another-value-7"), monkeypatch) == 2
    err = capsys.readouterr().err
    assert hub.count("PUT") == 0 and hub.count("DELETE") == 0
    assert "the value changed" in err and "11 targets" in err and "nothing was written" in err
    assert "another-value-7" not in err and CANARY not in err
    found = json.loads(report_path.read_text())
    jsonschema.validate(found, report.schema())
    assert found["exit_code"] == 2 and found["targets"] == []
    assert [c["code"] for c in found["saved_plan_changes"]] == ["value_changed"] * 11
    assert "another-value-7" not in report_path.read_text()


def test_a_change_on_github_since_the_plan_is_refused(hub, url, paths, monkeypatch,
                                                     capsys) -> None:
    """After an apply, someone rewrites one secret on GitHub after the plan was saved: the
    saved plan (all unchanged) no longer holds; apply PLAN refuses and names that secret."""
    assert run_cli(["apply", "-c", paths["config"], "--state", paths["state"], "--quiet"],
                   env_for(url), monkeypatch) == 0
    assert plan_out(url, paths, monkeypatch) == 0
    hub.set_secret("API_KEY", b"by hand", repo="acme/repo-0004",
                   updated_at=datetime(2099, 1, 1, tzinfo=UTC))
    hub.reset_counters()
    capsys.readouterr()
    assert apply_saved(url, paths, monkeypatch) == 2
    err = capsys.readouterr().err
    assert hub.count("PUT") == 0
    assert "API_KEY in acme/repo-0004: GitHub shows it updated at 2099-01-01" in err


def test_a_new_repository_or_a_changed_config_is_refused(hub, url, paths, monkeypatch,
                                                        capsys) -> None:
    """A repository created since the plan is a new target: refused. An edited config is
    refused before GitHub is asked anything."""
    assert plan_out(url, paths, monkeypatch) == 0
    hub.add_repo("acme", "repo-new")
    capsys.readouterr()
    assert apply_saved(url, paths, monkeypatch) == 2
    assert "API_KEY in acme/repo-new: a new target" in capsys.readouterr().err

    Path(paths["config"]).write_text(CONFIG.replace("repo-000*", "repo-00*"))
    hub.reset_counters()
    assert apply_saved(url, paths, monkeypatch) == 2
    assert "changed since the plan was saved" in capsys.readouterr().err
    assert hub.count() == 0
    assert hub.count("PUT") == 0


def test_apply_takes_a_plan_or_a_config(tmp_path, paths, monkeypatch, capsys) -> None:
    """apply needs exactly one of PLAN and -c; a file that is not a saved plan is named."""
    env = {"GITHUB_TOKEN": TOKEN}
    assert run_cli(["apply", "--quiet"], env, monkeypatch) == 2
    assert "apply needs -c CONFIG" in capsys.readouterr().err
    assert run_cli(["apply", paths["config"], "-c", paths["config"]], env, monkeypatch) == 2
    assert "not both" in capsys.readouterr().err
    assert run_cli(["apply", paths["config"]], env, monkeypatch) == 2
    assert "not a saved plan" in capsys.readouterr().err


def test_differences_name_each_kind_of_change() -> None:
    """The pure comparison: a value, GitHub's time, GitHub's selection, the plan's change, a
    target gone and one new, each in words."""
    def rec(scope: str, **kw: object) -> dict[str, object]:
        base: dict[str, object] = {
            "change": "update", "secret": "S", "scope": scope, "kind": "repo", "app": "actions",
            "fingerprint": "f1", "selection": None, "github_updated_at": "t1",
            "github_selection": None}
        return {**base, **kw}

    saved = [rec("o/a"), rec("o/b"), rec("o/c"), rec("o/d"), rec("o/gone")]
    now = [rec("o/a", fingerprint="f2"), rec("o/b", github_updated_at="t2"),
           rec("o/c", github_selection={"visibility": "all", "repository_ids": []}),
           rec("o/d", change="drifted"), rec("o/new")]
    found = saved_plan.differences(saved, now)
    assert [c.what.value for c in found] == [
        "value_changed", "changed_on_github", "selection_changed_on_github",
        "planned_otherwise", "target_gone", "target_new"]
    assert [str(c) for c in found] == [
        "S in o/a: the value changed",
        "S in o/b: GitHub shows it updated at t2, the plan saw t1",
        "S in o/c: its visibility or selected repositories changed on GitHub",
        "S in o/d: planned update, now drifted",
        "S in o/gone: no longer a target",
        "S in o/new: a new target"]
    assert saved_plan.differences(saved, saved) == []
    line = saved_plan.refusal("p.json", saved_plan.differences(saved, now))
    assert "6 targets" in line and "and 3 more" in line and "\n" not in line


def test_plan_out_file_is_replaced_whole(url, paths, monkeypatch) -> None:
    """A second plan --out replaces the first whole, with no temporary file left beside it."""
    assert plan_out(url, paths, monkeypatch) == 0
    assert plan_out(url, paths, monkeypatch) == 0
    assert sorted(os.listdir(Path(paths["plan"]).parent)) == ["plan.json", "state",
                                                              "syncer.toml"]


def test_apply_on_a_terminal_shows_the_plan_before_writing(tmp_path, paths) -> None:
    """On a terminal, apply -c prints the plan first, then the progress of its writes, then
    the summary; the plan is shown once."""
    with fakehub_process("--plain-names", "--repos", "3", "--envs", "") as fh:
        drawn = run_on_terminal(
            ["apply", "-c", paths["config"], "--state", paths["state"]],
            {**github_env(fh.url, fh.token, API_VALUE=CANARY),
             "XDG_STATE_HOME": str(tmp_path / "xdg"), "COLUMNS": "100"})
    text = drawn.decode()
    assert CANARY not in text
    plain = ANSI.sub("", text).replace("\r\n", "\n")
    assert plain.count("plan: create 4,") == 1
    first_frame = next(f for f in progress_frames(text) if "█" in f or "░" in f)
    assert plain.index("plan: create 4,") < plain.index(first_frame) < plain.index("created")
