"""The GitHub Action (action.yml): its own steps run locally, in order, against fakehub, with
the Actions cache played by a directory kept between runs, as the runner would run them.

What needs GitHub's runner is played by the test: the `uses:` steps (setup-python, and
actions/cache restore/save, done here with the paths and keys the action gives them), and the
install step (it needs the package index; runner.temp/syncer-venv is this test's own venv).
Everything else is the action's own text: each step's env and run with its ${{ }} expressions
filled in from inputs, github, runner and steps outputs (an expression the test cannot fill
fails the test, so the action stays runnable here).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import TOKEN, config_toml, managed, org_hub, rsa_key_pems

from syncer.fakehub import FakeHub, Limits

ROOT = Path(__file__).parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
PINNED = re.compile(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
CONFIG = config_toml(managed("secret", "NPM_TOKEN", "env:NPM_VALUE", visibility="private"),
                     managed("secret", "SENTRY_DSN", "env:SENTRY_VALUE", repos=["*"]))
VALUES = {"NPM_VALUE": "npm-canary-7f3a", "SENTRY_VALUE": "sentry-canary-91c2"}
REPOS = 4
WRITES = 1 + REPOS  # the org secret and one repository secret each


@dataclass
class Runner:
    """One job on a fresh runner: its own workspace and temp, GitHub's files for outputs and
    the summary; the cache (a directory of saved keys) outlives it."""

    base: Path
    cache: Path
    url: str
    run_id: int
    config: str = CONFIG
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def workspace(self) -> Path:
        return self.base / f"run-{self.run_id}" / "workspace"

    @property
    def temp(self) -> Path:
        return self.base / f"run-{self.run_id}" / "temp"

    @property
    def summary(self) -> Path:
        return self.temp / "step-summary.md"

    def run(self, **inputs: str) -> dict[str, str]:
        """Every step of action.yml, as the runner would; returns the action's outputs."""
        self.workspace.mkdir(parents=True)
        self.temp.mkdir(parents=True)
        (self.workspace / "syncer.toml").write_text(self.config)
        (self.temp / "syncer-venv").symlink_to(sys.prefix)  # the install step's venv
        given = {name: spec.get("default", "") for name, spec in ACTION["inputs"].items()}
        given.update(inputs)
        for step in ACTION["runs"]["steps"]:
            if "if" in step and not self.condition(step["if"]):
                continue
            uses = step.get("uses", "")
            with_ = {k: self.fill(str(v), given) for k, v in step.get("with", {}).items()}
            if uses.startswith("actions/cache/restore@"):
                self.restore(with_)
            elif uses.startswith("actions/cache/save@"):
                self.save(with_)
            elif "run" in step and not step["name"].startswith("Install"):
                self.shell(step, given)
        return {"exit-code": self.outputs.get("exit-code", ""),
                "report": self.outputs.get("report", "")}

    def fill(self, text: str, inputs: dict[str, str]) -> str:
        contexts: dict[str, Any] = {
            "inputs": inputs,
            "github": {"action_path": str(ROOT), "workspace": str(self.workspace),
                       "run_id": str(self.run_id), "run_attempt": "1"},
            "runner": {"temp": str(self.temp)},
            "steps": {"run": {"outputs": self.outputs}},
        }

        def value(match: re.Match[str]) -> str:
            found: Any = contexts
            for part in match.group(1).split("."):
                assert isinstance(found, dict) and part in found, match.group(0)
                found = found[part]
            return str(found)

        return re.sub(r"\$\{\{\s*([\w.-]+)\s*\}\}", value, text)

    def condition(self, expression: str) -> bool:
        assert expression == "always() && steps.run.outputs.state == 'written'", expression
        return self.outputs.get("state") == "written"

    def shell(self, step: dict[str, Any], inputs: dict[str, str]) -> None:
        output_file, summary = self.temp / "github-output", self.summary
        output_file.touch()
        env = {"PATH": os.environ["PATH"], "HOME": str(self.temp), "GITHUB_API_URL": self.url,
               "GITHUB_OUTPUT": str(output_file), "GITHUB_STEP_SUMMARY": str(summary),
               **VALUES}
        env.update({k: self.fill(str(v), inputs) for k, v in step.get("env", {}).items()})
        assert step["shell"] == "bash"
        done = subprocess.run(["bash", "-e", "-c", self.fill(step["run"], inputs)],
                              cwd=self.workspace, env=env, capture_output=True, text=True,
                              timeout=120, check=False)
        self.log = done.stdout + done.stderr
        for line in output_file.read_text().splitlines():
            name, _, text = line.partition("=")
            self.outputs[name] = text

    def restore(self, with_: dict[str, str]) -> None:
        """actions/cache/restore: the exact key, else the newest key with a restore-keys prefix."""
        saved = sorted(self.cache.iterdir(), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        keys = {p: p.name.replace("%2F", "/") for p in saved}  # as save() escaped them
        hit = next((p for p in saved if keys[p] == with_["key"]), None) or next(
            (p for p in saved if keys[p].startswith(with_["restore-keys"])), None)
        if hit is not None:
            shutil.copytree(hit, with_["path"], symlinks=True)

    def save(self, with_: dict[str, str]) -> None:
        """actions/cache/save: a key is written once (GitHub refuses to overwrite one)."""
        target = self.cache / with_["key"].replace("/", "%2F")
        assert not target.exists()
        shutil.copytree(with_["path"], target, symlinks=True)


@pytest.fixture
def hub() -> FakeHub:
    return org_hub(REPOS, limits=Limits())  # GitHub's limits, as the action meets them


@pytest.fixture
def runners(url: str, tmp_path: Path) -> Any:
    cache = tmp_path / "cache"
    cache.mkdir()
    return lambda run_id, config=CONFIG: Runner(tmp_path, cache, url, run_id, config)


def test_every_uses_is_pinned_to_a_full_commit_sha() -> None:
    """Each `uses:` in action.yml names a full 40-hex commit, with its tag in a comment."""
    text = (ROOT / "action.yml").read_text()
    uses = [s["uses"] for s in ACTION["runs"]["steps"] if "uses" in s]
    assert len(uses) == 3
    for ref in uses:
        assert PINNED.match(ref), ref
        assert re.search(re.escape(ref) + r" # v\d+\.\d+\.\d+\n", text), ref


def test_the_cache_carries_the_state_so_the_second_night_writes_nothing(
        hub: FakeHub, runners: Any) -> None:
    """Night 1 writes every target and saves the state; night 2, on a fresh runner with the
    state restored from the cache, sends no PUT; a plan after it has nothing to do; a night
    whose cache is gone writes everything again (what the cache is for). Each run's step
    summary holds its table, and no value or token reaches any file the action writes."""
    first = runners(1)
    out = first.run(command="apply", config="syncer.toml", token=TOKEN)
    assert out["exit-code"] == "0", first.log
    assert hub.count("PUT") == WRITES
    summary = first.summary.read_text()
    assert "### syncer apply: exit 0" in summary
    assert "| secret | where | change | why |" in summary
    assert len(re.findall(r"^\| \w+ \| acme\S* \| created \|", summary, re.M)) == WRITES
    report = json.loads(Path(out["report"]).read_text())
    assert report["counts"]["created"] == WRITES and report["exit_code"] == 0

    hub.reset_counters()
    second = runners(2)
    out = second.run(command="apply", config="syncer.toml", token=TOKEN)
    assert out["exit-code"] == "0", second.log
    assert hub.count("PUT") == 0 and hub.count("DELETE") == 0
    assert "No changes." in second.summary.read_text()
    counts = json.loads(Path(out["report"]).read_text())["counts"]
    assert counts["unchanged"] == WRITES and counts["created"] == counts["updated"] == 0

    third = runners(3)
    out = third.run(command="plan", config="syncer.toml", token=TOKEN)
    assert out["exit-code"] == "0", third.log
    assert "No changes." in third.summary.read_text()

    for saved in first.cache.iterdir():
        shutil.rmtree(saved)
    hub.reset_counters()
    forgetful = runners(4)
    assert forgetful.run(command="apply", config="syncer.toml", token=TOKEN)["exit-code"] == "0"
    assert hub.count("PUT") == WRITES  # no state: nothing to compare with, all rewritten

    for runner in (first, second, third, forgetful):
        for written in [*runner.temp.rglob("*"), *runner.workspace.rglob("*")]:
            if written.is_file() and not written.is_symlink():
                text = written.read_bytes()
                assert TOKEN.encode() not in text, written
                assert not any(v.encode() in text for v in VALUES.values()), written


def test_a_plan_summary_lists_each_change_and_the_state_stays_out_of_git(runners: Any) -> None:
    """plan on a first night: one row per target to create, exit 0 without writing; the state
    directory inside the workspace carries a .gitignore of everything."""
    runner = runners(1)
    out = runner.run(command="plan", config="syncer.toml", token=TOKEN)
    assert out["exit-code"] == "0", runner.log
    summary = runner.summary.read_text()
    assert len(re.findall(r"^\| \w+ \| acme\S* \| create \|", summary, re.M)) == WRITES
    assert (runner.workspace / ".syncer-state" / ".gitignore").read_text() == "*\n"


@pytest.mark.parametrize("inputs,problem", [
    ({"command": "destroy"}, "command must be plan or apply"),
    ({"token": TOKEN, "app-id": "7", "app-private-key": "PEM"}, "not both"),
    ({"app-id": "7", "app-private-key": "PEM"}, "has no [github.app]"),
    ({"app-id": "7"}, "app-id and app-private-key go together"),
])
def test_wrong_inputs_stop_before_syncer_runs(runners: Any, hub: FakeHub,
                                               inputs: dict[str, str], problem: str) -> None:
    """A bad command, a token and an App together, App inputs the config does not use: one
    ::error:: line, exit-code 2, no request, no state saved; the key is never repeated."""
    runner = runners(1)
    out = runner.run(config="syncer.toml", **inputs)
    assert out["exit-code"] == "2"
    assert "::error::syncer action: " in runner.log and problem in runner.log
    assert "PEM" not in runner.log.replace("PRIVATE_KEY", "")
    assert sum(hub.calls.values()) == 0
    assert not list(runner.cache.iterdir())


def test_a_github_app_key_reaches_syncer_through_the_environment_only(
        hub: FakeHub, runners: Any) -> None:
    """With app-id and app-private-key, syncer signs in as the App of the config's
    [github.app] (private_key = "env:SYNCER_APP_PRIVATE_KEY") and writes every target; the
    key appears in no file the action writes and not in the job's log."""
    _, pem, public = rsa_key_pems()
    hub.register_app(42, public)
    hub.add_installation("acme", 42)
    config = CONFIG.replace("[sync]", '[github.app]\napp_id = 42\n'
                            'private_key = "env:SYNCER_APP_PRIVATE_KEY"\n[sync]')
    runner = runners(1, config)
    out = runner.run(command="apply", config="syncer.toml", **{"app-id": "42",
                                                                "app-private-key": pem})
    assert out["exit-code"] == "0", runner.log
    assert hub.count("PUT") == WRITES
    body = pem.splitlines()[1]
    assert body not in runner.log
    for written in [*runner.temp.rglob("*"), *runner.workspace.rglob("*")]:
        if written.is_file() and not written.is_symlink():
            assert body.encode() not in written.read_bytes(), written
