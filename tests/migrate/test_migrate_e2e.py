"""`syncer migrate` end to end: the command's run and report against fakehub over loopback TCP.

Two organisations in one FakeHub (and, once, two FakeHub servers for a cross-host migration);
nothing is mocked: requests, pacing, retries, sealing and fakehub's decryption are all real.
The tests build the request with the command's own `add_arguments` and `request_from`, run it
with `run_with` and settings_for / token_for of their own, and `report` it as the CLI does.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest
from helpers import TOKEN, migration_urls, org_hub
from openapi_check import validate_exchanges

from syncer.commands import Output
from syncer.commands.migrate import add_arguments, report, request_from, run_with
from syncer.execution.connect import Settings
from syncer.exits import UsageError
from syncer.fakehub import FakeHub, Limits
from syncer.fakehub.rules import ApiError
from syncer.observe import logs

CANARY = "canary-migrate-5e0c"
SELECTED = [f"repo-{i:04d}" for i in range(1, 21)]


# -- running the command -----------------------------------------------------------------------

def migrate(urls: dict[str, str], tmp_path: Path, *argv: str,
            tokens: dict[str, str] | None = None) -> int:
    """The migration the request of migrate's own parser and request_from asks for, run and
    reported (on the real stdout) as the CLI runs and reports it; its exit code."""
    parser = argparse.ArgumentParser(prog="syncer migrate")
    add_arguments(parser)
    args = parser.parse_args(["--state", str(tmp_path / "state" / "state.json"), *argv])
    args.quiet = True
    command = request_from(args)
    tokens = tokens or {"from": TOKEN, "to": TOKEN}

    def settings_for(side: str) -> Settings:
        return Settings(api_url=urls[side], concurrency=32, points_per_minute=0)

    result = anyio.run(partial(run_with, command.migration, settings_for=settings_for,
                               token_for=lambda side: tokens[side]))
    return report(command, result, Output(sys.stdout, sys.stderr))


@pytest.fixture(autouse=True)
def json_logs() -> None:
    """Logs as cli.py configures them: JSON lines on stderr, so stdout holds only the report."""
    logs.configure("json", "info")


def everything_written(tmp_path: Path, captured: Any, *, but: Path | None = None) -> str:
    """stdout, stderr (logs) and every file in tmp_path (`but` the values file), as one text."""
    files = "".join(p.read_bytes().decode("latin-1") for p in tmp_path.rglob("*")
                    if p.is_file() and p != but)
    return captured.out + captured.err + files


# -- the 200-repository organisation -----------------------------------------------------------

@pytest.fixture
def big() -> FakeHub:
    """src: 200 repos, 2 org secrets (one selected, one Dependabot), 3 repo secrets over 150
    repos (one of them Dependabot), 1 environment secret; dst: the same 200 repositories."""
    hub = org_hub(200, "src", "dst", record=True)  # limits off: 300+ writes
    hub.set_secret("NPM_TOKEN", b"old", org="src", selected=SELECTED)
    hub.set_secret("REGISTRY_PASSWORD", b"old", org="src", app="dependabot", visibility="private")
    for i in range(1, 151):
        repo = f"src/repo-{i:04d}"
        hub.set_secret("DB_PASSWORD", b"old", repo=repo)
        if i <= 100:
            hub.set_secret("SENTRY_DSN", b"old", repo=repo)
        else:
            hub.set_secret("NPM_AUTH", b"old", repo=repo, app="dependabot")
    hub.set_secret("DEPLOY_KEY", b"old", repo="src/repo-0007", env="production")
    return hub


@pytest.fixture
def big_url(big: FakeHub) -> Iterator[dict[str, str]]:
    yield from migration_urls(big)


BIG_VALUES = f"""\
# values for the migration test
NPM_TOKEN={CANARY}-npm
dependabot:org:REGISTRY_PASSWORD='{CANARY}-registry'
DB_PASSWORD={CANARY}-db   # the same everywhere ...
actions:repo:repo-0042:DB_PASSWORD="{CANARY}-db-42"
SENTRY_DSN={CANARY}-sentry
export NPM_AUTH={CANARY}-npm-auth
actions:env:repo-0007:production:DEPLOY_KEY="{CANARY}-deploy\\nline two"
"""


@pytest.mark.slow
def test_migrates_whole_org_then_second_run_writes_nothing(big, big_url, tmp_path, capsys) -> None:
    """200 repos: every secret lands in dst with the right plaintext, visibility and selection
    mapped by repository name; a second run with the same values sends no PUT; no value leaks."""
    values = tmp_path / "values.env"
    values.write_text(BIG_VALUES)
    assert migrate(big_url, tmp_path, "--from", "src", "--to", "dst", "--values", str(values)) == 0

    def plain(name: str, **where: str) -> bytes | None:
        return big.plaintext(name, **where)

    assert plain("NPM_TOKEN", org="dst") == f"{CANARY}-npm".encode()
    npm = big.secret("NPM_TOKEN", org="dst")
    assert npm["visibility"] == "selected"
    assert sorted(npm["selected_repository_ids"]) == sorted(big.repo_id(f"dst/{r}")
                                                            for r in SELECTED)
    registry = big.secret("REGISTRY_PASSWORD", org="dst", app="dependabot")
    assert registry["visibility"] == "private"
    assert plain("REGISTRY_PASSWORD", org="dst", app="dependabot") == f"{CANARY}-registry".encode()
    for i in range(1, 151):
        repo = f"dst/repo-{i:04d}"
        expected = f"{CANARY}-db-42" if i == 42 else f"{CANARY}-db"
        assert plain("DB_PASSWORD", repo=repo) == expected.encode()
        if i <= 100:
            assert plain("SENTRY_DSN", repo=repo) == f"{CANARY}-sentry".encode()
        else:
            assert plain("NPM_AUTH", repo=repo, app="dependabot") == f"{CANARY}-npm-auth".encode()
    assert plain("DB_PASSWORD", repo="dst/repo-0151") is None
    assert plain("DEPLOY_KEY", repo="dst/repo-0007", env="production") \
        == f"{CANARY}-deploy\nline two".encode()
    assert big.count("PUT") == 2 + 150 + 100 + 50 + 1
    assert validate_exchanges(big.exchanges) == []
    first = capsys.readouterr()
    assert "migrated 303" in first.out

    big.reset_counters()
    assert migrate(big_url, tmp_path, "--from", "src", "--to", "dst", "--values", str(values)) == 0
    assert big.count("PUT") == 0
    second = capsys.readouterr()
    assert "migrated 0, unchanged 303" in second.out
    assert big.count("PUT", None) == 0 and big.count("DELETE") == 0
    text = everything_written(tmp_path, first, but=values) + second.out + second.err
    assert CANARY not in text and TOKEN not in text


@pytest.mark.slow
def test_json_report_lists_every_target_by_scope_and_name(big, big_url, tmp_path, capsys) -> None:
    """--format json prints one machine-readable report: counts and an item per target."""
    values = tmp_path / "values.json"
    values.write_text(json.dumps({"NPM_TOKEN": "a1234", "REGISTRY_PASSWORD": "b1234",
                                  "DB_PASSWORD": "c1234", "SENTRY_DSN": "d1234",
                                  "NPM_AUTH": "e1234", "DEPLOY_KEY": "f1234"}))
    code = migrate(big_url, tmp_path, "--from", "src", "--to", "dst", "--values", str(values),
                   "--format", "json", "--repos", "repo-000*")
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["counts"]["migrated"] == 2 + 9 * 2 + 1  # org, repo-0001..9 x2, env
    item = next(i for i in report["items"] if i["scope"] == "dst/repo-0003" and
                i["name"] == "SENTRY_DSN")
    assert item == {"status": "migrated", "target": "secret", "name": "SENTRY_DSN", "scope": "dst/repo-0003",
                    "org": "dst", "app": "actions", "kind": "repo", "repo": "repo-0003",
                    "env": None, "key": "actions:repo:repo-0003:SENTRY_DSN", "why": "created"}
    assert big.plaintext("DB_PASSWORD", repo="dst/repo-0010") is None  # outside --repos


# -- a small pair of organisations -------------------------------------------------------------

@pytest.fixture
def small() -> FakeHub:
    """src: 5 repos (repo-0005 archived), dst: repo-0001..0004 and an archived repo-0003 twin
    named repo-0004; repo-0002 lacks the environment in dst."""
    hub = FakeHub(tokens=(TOKEN,), limits=Limits.off())  # limits off: about plans, not pacing
    hub.add_org("src")
    hub.add_org("dst")
    hub.add_repos("src", 4, environments=("production",))
    hub.add_repo("src", "repo-0005", archived=True)
    hub.add_repo("dst", "repo-0001")
    hub.add_repo("dst", "repo-0002", environments=())
    hub.add_repo("dst", "repo-0003")
    hub.add_repo("dst", "repo-0004", archived=True)
    hub.add_repo("dst", "repo-0005")
    hub.set_secret("ORG_TOKEN", b"old", org="src", selected=["repo-0001", "repo-0002"])
    for i in range(1, 6):
        hub.set_secret("API_KEY", b"old", repo=f"src/repo-{i:04d}")
    for i in (1, 2):
        hub.set_secret("DEPLOY", b"old", repo=f"src/repo-{i:04d}", env="production")
    return hub


@pytest.fixture
def small_url(small: FakeHub) -> Iterator[dict[str, str]]:
    yield from migration_urls(small)


def test_plan_out_writes_plan_and_template_and_nothing_to_dst(small, small_url, tmp_path,
                                                              capsys) -> None:
    """--plan-out: a JSON plan with every target's status, a TOML template with every key that
    needs a value (all empty), exit 0, and not a single write to dst."""
    plan_path = tmp_path / "out" / "migration.json"
    code = migrate(small_url, tmp_path, "--from", "src", "--to", "dst", "--plan-out",
                   str(plan_path))
    assert code == 0
    assert small.count("PUT") == 0 and small.count("DELETE") == 0
    plan = json.loads(plan_path.read_text())
    by_key = {t["key"]: t for t in plan["targets"]}
    assert by_key["actions:org:ORG_TOKEN"]["visibility"] == "selected"
    assert by_key["actions:org:ORG_TOKEN"]["selected_repository_ids"] == sorted(
        small.repo_id(f"dst/repo-000{i}") for i in (1, 2))
    assert by_key["actions:repo:repo-0001:API_KEY"]["status"] == "ok"
    assert by_key["actions:repo:repo-0005:API_KEY"]["status"] == "ok"  # archived in src only
    assert by_key["actions:repo:repo-0004:API_KEY"]["status"] == "missing target"
    assert "archived" in by_key["actions:repo:repo-0004:API_KEY"]["why"]
    assert by_key["actions:env:repo-0002:production:DEPLOY"]["status"] == "missing target"
    assert by_key["actions:env:repo-0001:production:DEPLOY"]["destination"]["scope"] \
        == "dst/repo-0001:production"
    assert plan["counts"] == {"ok": 6, "missing target": 2, "missing selected repositories": 0,
                              "variables": 0}
    template = tmp_path / "out" / "migration.values.toml"
    values = tomllib.loads(template.read_text())
    assert set(values) == {k for k, t in by_key.items() if t["status"] == "ok"}
    assert set(values.values()) == {""}
    assert oct(template.stat().st_mode & 0o777) == "0o600"
    out = capsys.readouterr().out
    assert "missing target: API_KEY in dst/repo-0004" in out


def test_plan_out_never_overwrites_a_template(small, small_url, tmp_path) -> None:
    """A template that exists may already hold values: --plan-out refuses to replace it."""
    (tmp_path / "plan.values.toml").write_text("API_KEY = 'filled in'\n")
    with pytest.raises(UsageError, match="exists"):
        migrate(small_url, tmp_path, "--from", "src", "--to", "dst", "--plan-out",
                str(tmp_path / "plan.json"))
    assert (tmp_path / "plan.values.toml").read_text() == "API_KEY = 'filled in'\n"


def test_a_repos_pattern_that_matches_nothing_is_refused(small, small_url, tmp_path) -> None:
    """`--repos nomatch` (a typo) would migrate only the org secrets without a word: refused,
    before any output."""
    with pytest.raises(UsageError, match="no repository of src matches --repos 'nomatch'"):
        migrate(small_url, tmp_path, "--from", "src", "--to", "dst", "--repos", "repo-0001",
                "--repos", "nomatch", "--plan-out", str(tmp_path / "plan.json"))
    assert not (tmp_path / "plan.json").exists()


def test_an_organisation_that_cannot_be_read_is_named_once(small, small_url, tmp_path) -> None:
    """--from an org that does not exist (or the token may not see): a usage error naming it
    and the two possible causes once, before any output."""
    with pytest.raises(UsageError) as caught:
        migrate(small_url, tmp_path, "--from", "nope", "--to", "dst",
                "--plan-out", str(tmp_path / "plan.json"))
    assert str(caught.value) == \
        "reading nope: organization nope not found or token lacks access"
    assert not (tmp_path / "plan.json").exists()


@pytest.mark.parametrize("option", ["--plan-out", "--export-workflow"])
def test_an_output_path_is_never_a_file_syncer_did_not_write(small, small_url, tmp_path,
                                                             option) -> None:
    """A filled-in values file given by mistake as --plan-out or --export-workflow is left as
    it is; the command's own earlier output is replaced, as a refresh should."""
    values = tmp_path / "values.toml"
    values.write_text("API_KEY = 'filled in'\n")
    with pytest.raises(UsageError, match="values.toml exists and is not a .* syncer wrote"):
        migrate(small_url, tmp_path, "--from", "src", "--to", "dst", option, str(values))
    assert values.read_text() == "API_KEY = 'filled in'\n"
    output = tmp_path / "out.txt"
    for _ in range(2):
        assert migrate(small_url, tmp_path, "--from", "src", "--to", "dst", option,
                       str(output)) == 0
        for template in tmp_path.glob("*.values.toml"):
            template.unlink()  # guarded on its own (above)


def fill_template(template: Path, skip: set[str]) -> None:
    """Give every key in the template a canary value, except the keys in `skip`."""
    keys = tomllib.loads(template.read_text())
    lines = [f'{json.dumps(k)} = "{CANARY}-{i}"' for i, k in enumerate(sorted(keys))
             if k not in skip]
    template.write_text("\n".join(lines) + "\n")


def test_missing_values_block_everything_without_allow_partial(small, small_url, tmp_path,
                                                               capsys) -> None:
    """Two values left out of the filled template: both are listed by scope and name, exit 1;
    without --allow-partial nothing is written, with it everything else is, and still exit 1."""
    plan_path = tmp_path / "plan.json"
    assert migrate(small_url, tmp_path, "--from", "src", "--to", "dst",
                   "--plan-out", str(plan_path)) == 0
    template = tmp_path / "plan.values.toml"
    fill_template(template, skip={"actions:repo:repo-0003:API_KEY",
                                  "actions:env:repo-0001:production:DEPLOY"})
    capsys.readouterr()
    args = ("--from", "src", "--to", "dst", "--values", str(template))
    assert migrate(small_url, tmp_path, *args) == 1
    assert small.count("PUT") == 0
    out = capsys.readouterr().out
    assert "missing value (2):" in out
    assert "API_KEY in dst/repo-0003  [actions:repo:repo-0003:API_KEY]" in out
    assert "DEPLOY in dst/repo-0001:production  [actions:env:repo-0001:production:DEPLOY]" in out
    assert "missing target (2):" in out and "nothing written" in out

    assert migrate(small_url, tmp_path, *args, "--allow-partial") == 1
    out = capsys.readouterr().out
    assert "migrated 4," in out and "missing value 2" in out
    assert small.plaintext("API_KEY", repo="dst/repo-0003") is None
    assert small.plaintext("DEPLOY", repo="dst/repo-0001", env="production") is None
    assert small.plaintext("API_KEY", repo="dst/repo-0001") is not None
    assert small.plaintext("API_KEY", repo="dst/repo-0005") is not None  # archived src repo
    assert small.plaintext("ORG_TOKEN", org="dst") is not None
    assert small.count("PUT") == 4


def test_unknown_and_malformed_keys_are_reported_with_file_and_line(small, small_url, tmp_path,
                                                                    capsys) -> None:
    """Keys that match nothing in src, or that do not parse, stop the run before any write;
    each is named with file and line, and no value appears in the message."""
    values = tmp_path / "v.env"
    values.write_text(f"API_KEY={CANARY}-a\n"
                      f"actions:repo:no-such-repo:API_KEY={CANARY}-b\n"
                      f"NOT_A_SECRET={CANARY}-c\n"
                      f"copilot:org:API_KEY={CANARY}-d\n")
    with pytest.raises(UsageError) as caught:
        migrate(small_url, tmp_path, "--from", "src", "--to", "dst", "--values", str(values),
                "--allow-partial")
    message = str(caught.value)
    assert f"{values}:2 (actions:repo:no-such-repo:API_KEY): no such secret in the source" \
        in message
    assert f"{values}:3 (NOT_A_SECRET): no secret of that name in the source" in message
    assert f"{values}:4 (copilot:org:API_KEY): a scoped key starts with actions:, dependabot:, " \
        "codespaces: or agents:" in message
    assert CANARY not in message
    assert small.count("PUT") == 0


def test_values_file_errors_stop_before_any_request(small, small_url, tmp_path) -> None:
    """A values file that does not parse is refused before GitHub is asked anything; the line
    is named, its content (maybe a pasted secret) is not."""
    values = tmp_path / "v.env"
    values.write_text(f"API_KEY={CANARY}-a\n{CANARY}-pasted-alone\n")
    with pytest.raises(UsageError) as caught:
        migrate(small_url, tmp_path, "--from", "src", "--to", "dst", "--values", str(values))
    assert f"{values}:2: expected KEY=VALUE" in str(caught.value)
    assert CANARY not in str(caught.value)
    assert small.count() == 0


def test_dry_run_plans_and_writes_nothing(small, small_url, tmp_path, capsys) -> None:
    """--dry-run with values: the report says what would be written; nothing is."""
    values = tmp_path / "v.toml"
    values.write_text(f"API_KEY = '{CANARY}'\nORG_TOKEN = '{CANARY}'\nDEPLOY = '{CANARY}'\n")
    assert migrate(small_url, tmp_path, "--from", "src", "--to", "dst", "--values",
                   str(values), "--dry-run") == 1  # two targets are missing in dst
    assert small.count("PUT") == 0
    out = capsys.readouterr().out
    assert "not written 6" in out and "dry run (would create)" in out


def test_changed_selection_and_drift_are_rewritten(small, small_url, tmp_path) -> None:
    """After a migration, a selected repository that appears in dst and a value changed by hand
    in dst are each rewritten on the next run; nothing else is."""
    values = tmp_path / "v.env"
    values.write_text("API_KEY=v-api-1\nORG_TOKEN=v-org-1\nDEPLOY=v-deploy-1\n")
    args = ("--from", "src", "--to", "dst", "--values", str(values), "--allow-partial")
    assert migrate(small_url, tmp_path, *args) == 1  # the two missing targets
    small.add_repo("src", "new")
    small.set_secret("ORG_TOKEN", b"x", org="src", selected=["repo-0001", "repo-0002", "new"])
    small.add_repo("dst", "new")
    from datetime import UTC, datetime, timedelta
    small.set_secret("API_KEY", b"by hand", repo="dst/repo-0003",
                     updated_at=datetime.now(UTC) + timedelta(hours=1))
    small.reset_counters()
    assert migrate(small_url, tmp_path, *args) == 1
    assert small.count("PUT") == 2
    assert small.plaintext("API_KEY", repo="dst/repo-0003") == b"v-api-1"
    assert small.repo_id("dst/new") in small.secret("ORG_TOKEN", org="dst")["selected_repository_ids"]


# -- export workflow and sealed import ---------------------------------------------------------

def seal_step(job: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in job["steps"] if s.get("shell") == "python")


def as_seen_by(hub: FakeHub, repository: str, environment: str | None, name: str) -> str:
    """What `${{ secrets.NAME }}` gives a job in `repository` (and `environment`): environment
    over repository over organisation secrets, as GitHub resolves them; "" when none."""
    for where in ([{"repo": repository, "env": environment}] if environment else []) + [
            {"repo": repository}, {"org": repository.split("/")[0]}]:
        value = hub.plaintext(name, **where)  # type: ignore[arg-type]
        if value is not None:
            return value.decode()
    return ""


def run_workflow_locally(workflow: dict[str, Any], hub: FakeHub, out_dir: Path) -> None:
    """Each job's sealing step, exactly as the YAML has it, run by python with the env GitHub
    would give it: `${{ secrets.NAME }}` replaced by what that job can read in src."""
    out_dir.mkdir()
    for job_id, job in workflow["jobs"].items():
        repository = job["if"].split("'")[1]
        step = seal_step(job)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCER_EXPORT_")}
        for key, value in step["env"].items():
            if value.startswith("${{ secrets."):
                name = value.removeprefix("${{ secrets.").removesuffix(" }}")
                value = as_seen_by(hub, repository, job.get("environment"), name)
            env[key] = value
        env["SYNCER_OUT"] = str(out_dir / env["SYNCER_OUT"])
        script = out_dir / f"{job_id}.py"
        script.write_text(step["run"])
        done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                              text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        assert CANARY not in done.stdout + done.stderr


@pytest.fixture
def exportable() -> FakeHub:
    """src with org secrets of each visibility, repo and environment secrets, one Dependabot
    secret and an archived repository; dst with the same repositories."""
    hub = org_hub(3, "src", "dst")  # limits off: about sealing, not pacing
    hub.add_repo("src", "public-site", private=False, environments=())
    hub.add_repo("dst", "public-site", environments=())
    hub.add_repo("src", "old", archived=True)
    hub.add_repo("dst", "old")
    hub.set_secret("ORG_ALL", f"{CANARY}-org-all".encode(), org="src", visibility="all")
    hub.set_secret("ORG_PRIVATE", f"{CANARY}-org-private".encode(), org="src",
                   visibility="private")
    hub.set_secret("ORG_PICKED", f"{CANARY}-org-picked".encode(), org="src",
                   selected=["repo-0002", "repo-0003"])
    hub.set_secret("ORG_ALL", f"{CANARY}-shadow".encode(), repo="src/repo-0002")  # shadows
    for i in (1, 2, 3):
        hub.set_secret("API_KEY", f"{CANARY}-api-{i}".encode(), repo=f"src/repo-000{i}")
    hub.set_secret("DEPLOY", f"{CANARY}-deploy".encode(), repo="src/repo-0001", env="production")
    hub.set_secret("API_KEY", f"{CANARY}-prod-api".encode(), repo="src/repo-0001",
                   env="production")
    hub.set_secret("NPM", f"{CANARY}-npm".encode(), repo="src/repo-0001", app="dependabot")
    hub.set_secret("API_KEY", f"{CANARY}-old".encode(), repo="src/old")
    return hub


@pytest.fixture
def exportable_url(exportable: FakeHub) -> Iterator[dict[str, str]]:
    yield from migration_urls(exportable)


def test_export_workflow_then_import_sealed_moves_values_untouched(exportable, exportable_url,
                                                                   tmp_path, capsys) -> None:
    """The workflow is valid YAML naming each secret by reference and holding no value; its own
    sealing script, run per job with src's values, yields ciphertexts that --import-sealed
    writes to dst, where they decrypt to src's values. Dependabot and archived-repo secrets are
    listed as not exportable."""
    yaml = pytest.importorskip("yaml")
    hub = exportable
    workflow_path = tmp_path / "syncer-export.yml"
    assert migrate(exportable_url, tmp_path, "--from", "src", "--to", "dst",
                   "--export-workflow", str(workflow_path)) == 0
    assert hub.count("PUT") == 0
    text = workflow_path.read_text()
    assert CANARY not in text
    workflow = yaml.safe_load(text)
    assert workflow["permissions"] == {} and "workflow_dispatch" in workflow["on"]
    jobs = workflow["jobs"]
    places = sorted((j["if"], j.get("environment") or "") for j in jobs.values())
    assert places == [
        ("github.repository == 'src/repo-0001'", ""),
        ("github.repository == 'src/repo-0001'", "production"),
        ("github.repository == 'src/repo-0002'", ""),
        ("github.repository == 'src/repo-0003'", ""),  # org secrets: all three visible here,
        ("github.repository == 'src/repo-0003'", ""),  # no repo secret of theirs shadows them
    ]
    references = {v for j in jobs.values() for v in seal_step(j)["env"].values()
                  if v.startswith("${{")}
    assert references == {"${{ secrets.ORG_ALL }}", "${{ secrets.ORG_PRIVATE }}",
                          "${{ secrets.ORG_PICKED }}", "${{ secrets.API_KEY }}",
                          "${{ secrets.DEPLOY }}"}
    scripts = {seal_step(j)["run"] for j in jobs.values()}
    assert len(scripts) == 1  # one script, the same in every job
    installs = {j["steps"][1]["run"] for j in jobs.values()}
    assert len(installs) == 1
    install = installs.pop()
    assert install.rstrip().endswith("--require-hashes -r \"$RUNNER_TEMP/syncer-requirements.txt\"")
    written_by_the_step = install.rpartition("python -m pip")[0]  # all but the install itself
    subprocess.run(["bash", "-c", written_by_the_step], env={"RUNNER_TEMP": str(tmp_path)},
                   check=True)
    from syncer.migrate.export import EXPORT_REQUIREMENTS
    requirements = (tmp_path / "syncer-requirements.txt").read_text().splitlines()
    assert requirements == list(EXPORT_REQUIREMENTS)
    assert all(re.fullmatch(r"[a-z]+==[\d.]+( --hash=sha256:[0-9a-f]{64})+", r)
               for r in requirements)
    from syncer.migrate.export import export_script
    assert scripts == {export_script()}
    out = capsys.readouterr().out
    assert "NPM in dst/repo-0001 (dependabot)" in out and "src/old is archived" in out

    sealed_dir = tmp_path / "sealed"
    run_workflow_locally(workflow, hub, sealed_dir)
    assert CANARY not in "".join(p.read_text() for p in sealed_dir.glob("*.json"))
    assert migrate(exportable_url, tmp_path, "--from", "src", "--to", "dst",
                   "--import-sealed", str(sealed_dir)) == 0
    expect = {("ORG_ALL", "org", None): "org-all", ("ORG_PRIVATE", "org", None): "org-private",
              ("ORG_PICKED", "org", None): "org-picked"}
    for (name, _, _), tail in expect.items():
        assert hub.plaintext(name, org="dst") == f"{CANARY}-{tail}".encode()
    assert hub.secret("ORG_PICKED", org="dst")["selected_repository_ids"] == sorted(
        hub.repo_id(f"dst/repo-000{i}") for i in (2, 3))
    assert hub.secret("ORG_PRIVATE", org="dst")["visibility"] == "private"
    for i in (1, 2, 3):
        assert hub.plaintext("API_KEY", repo=f"dst/repo-000{i}") == f"{CANARY}-api-{i}".encode()
    assert hub.plaintext("API_KEY", repo="dst/repo-0001", env="production") \
        == f"{CANARY}-prod-api".encode()
    assert hub.plaintext("DEPLOY", repo="dst/repo-0001", env="production") \
        == f"{CANARY}-deploy".encode()
    assert hub.plaintext("NPM", repo="dst/repo-0001", app="dependabot") is None
    captured = capsys.readouterr()
    assert "migrated 9" in captured.out
    assert CANARY not in everything_written(tmp_path / "state", captured)


def exported_and_sealed(hub: FakeHub, url: dict[str, str], tmp_path: Path) -> None:
    """--export-workflow src → dst, then its sealing steps run locally into tmp_path/sealed."""
    yaml = pytest.importorskip("yaml")
    workflow_path = tmp_path / "export.yml"
    assert migrate(url, tmp_path, "--from", "src", "--to", "dst",
                   "--export-workflow", str(workflow_path)) == 0
    run_workflow_locally(yaml.safe_load(workflow_path.read_text()), hub, tmp_path / "sealed")


def test_import_reports_stale_key_ids_and_writes_the_rest(exportable, exportable_url, tmp_path,
                                                          capsys) -> None:
    """A dst key rotated between export and import: that scope's two secrets are reported as
    stale (export again), every other ciphertext is written, exit 1."""
    hub = exportable
    exported_and_sealed(hub, exportable_url, tmp_path)
    hub.rotate_key(repo="dst/repo-0002")
    hub.reset_counters()
    capsys.readouterr()
    assert migrate(exportable_url, tmp_path, "--from", "src", "--to", "dst",
                   "--import-sealed", str(tmp_path / "sealed")) == 1
    out = capsys.readouterr().out
    assert "failed 2" in out and "API_KEY in dst/repo-0002" in out and "export again" in out
    assert "ORG_ALL in dst/repo-0002" in out
    assert hub.plaintext("API_KEY", repo="dst/repo-0002") is None
    assert hub.plaintext("API_KEY", repo="dst/repo-0003") == f"{CANARY}-api-3".encode()
    # one key GET, to tell a stale key_id from a damaged ciphertext (GitHub answers both alike)
    assert hub.count("GET", "/repos/{owner}/{repo}/actions/secrets/public-key") == 1
    assert hub.count("PUT") == 9  # each ciphertext once, the stale ones not retried


def test_import_says_stale_when_the_current_key_cannot_be_read(exportable, exportable_url,
                                                                tmp_path, capsys) -> None:
    """The key GET that tells stale from damaged is refused: the 422 is still explained, as
    most likely a stale key, with why it could not be checked."""
    hub = exportable
    exported_and_sealed(hub, exportable_url, tmp_path)
    hub.rotate_key(repo="dst/repo-0002")

    def refuse_key_reads(method: str, template: str, so_far: int) -> None:
        if template.endswith("/public-key"):
            raise ApiError(403, "Resource not accessible by integration")

    hub.on_request = refuse_key_reads
    capsys.readouterr()
    assert migrate(exportable_url, tmp_path, "--from", "src", "--to", "dst",
                   "--import-sealed", str(tmp_path / "sealed")) == 1
    out = capsys.readouterr().out
    assert "API_KEY in dst/repo-0002" in out and "its current key could not be read (" in out
    assert "403 Resource not accessible by integration; to read repository secrets: " in out
    assert "); most likely the key changed since the export: export again and import" in out


def test_import_tells_a_damaged_ciphertext_from_a_stale_key(exportable, exportable_url,
                                                            tmp_path, capsys) -> None:
    """A ciphertext GitHub cannot open under the scope's current key is reported as damaged:
    exporting again for a key change would not help. The rest is written; exit 1."""
    hub = exportable
    exported_and_sealed(hub, exportable_url, tmp_path)
    for path in (tmp_path / "sealed").rglob("*.json"):
        document = json.loads(path.read_text())
        for entry in document["sealed"]:
            if entry["name"] == "API_KEY" and entry["dst"]["repo"] == "repo-0003":
                entry["encrypted_value"] = base64.b64encode(b"not a sealed box").decode()
        path.write_text(json.dumps(document))
    capsys.readouterr()
    assert migrate(exportable_url, tmp_path, "--from", "src", "--to", "dst",
                   "--import-sealed", str(tmp_path / "sealed")) == 1
    out = capsys.readouterr().out
    assert "dst/repo-0003 could not decrypt the ciphertext with its key_id" in out
    assert "damaged or was not sealed by the export workflow" in out
    assert "stale" not in out
    assert hub.plaintext("API_KEY", repo="dst/repo-0002") == f"{CANARY}-api-2".encode()


def test_import_writes_environment_secrets_on_an_older_enterprise_server(
        exportable, exportable_url, tmp_path) -> None:
    """An Enterprise Server that serves environments only by repository id: the import looks
    the ids up and the environment ciphertexts land like the rest."""
    hub = exportable
    exported_and_sealed(hub, exportable_url, tmp_path)
    hub.legacy_env_routes_only = True
    assert migrate(exportable_url, tmp_path, "--from", "src", "--to", "dst",
                   "--import-sealed", str(tmp_path / "sealed")) == 0
    assert hub.plaintext("DEPLOY", repo="dst/repo-0001", env="production") \
        == f"{CANARY}-deploy".encode()


def test_import_takes_ciphertexts_not_the_shape_of_secrets(exportable, exportable_url, tmp_path,
                                                           capsys) -> None:
    """An edited artifact (a selected org secret made visible to all, a secret SRC does not
    have) and an old one (SRC narrowed a secret since the export) are refused, each entry
    named, before anything is written."""
    hub = exportable
    exported_and_sealed(hub, exportable_url, tmp_path)
    for path in (tmp_path / "sealed").rglob("*.json"):
        document = json.loads(path.read_text())
        for entry in list(document["sealed"]):
            if entry["name"] == "ORG_PICKED":
                entry.update(visibility="all", selected_repository_ids=None)
                document["sealed"].append({**entry, "name": "NEVER_IN_SOURCE"})
        path.write_text(json.dumps(document))
    hub.reset_counters()
    with pytest.raises(UsageError) as refused:
        migrate(exportable_url, tmp_path, "--from", "src", "--to", "dst",
                "--import-sealed", str(tmp_path / "sealed"))
    problems = str(refused.value).splitlines()[1:]
    assert len(problems) == 2, problems
    assert any(p.endswith("ORG_PICKED in dst: visibility all in the export, visibility "
                          "selected (2 repositories) from SRC now; run the export again")
               for p in problems), problems
    assert any(p.endswith("NEVER_IN_SOURCE in dst: SRC has no such secret now (or --repos or "
                          "--name leaves it out)") for p in problems), problems
    assert hub.count("PUT") == 0

    shutil.rmtree(tmp_path / "sealed")
    exported_and_sealed(hub, exportable_url, tmp_path)
    hub.set_secret("ORG_PICKED", b"changed", org="src", visibility="private")
    with pytest.raises(UsageError, match="visibility selected .2 repositories. in the export, "
                                         "visibility private from SRC now"):
        migrate(exportable_url, tmp_path, "--from", "src", "--to", "dst",
                "--import-sealed", str(tmp_path / "sealed"))
    assert hub.count("PUT") == 0


def test_import_refuses_entries_for_another_org(exportable, exportable_url, tmp_path) -> None:
    """Sealed entries naming another destination organisation stop the import before writing."""
    sealed = tmp_path / "sealed.json"
    sealed.write_text(json.dumps({"syncer_sealed": 1, "sealed": [{
        "dst": {"org": "elsewhere", "app": "actions", "kind": "repo", "repo": "repo-0001",
                "env": None}, "name": "API_KEY", "key_id": "k", "encrypted_value": "AAAA"}]}))
    with pytest.raises(UsageError, match="elsewhere"):
        migrate(exportable_url, tmp_path, "--from", "src", "--to", "dst",
                "--import-sealed", str(sealed))
    assert exportable.count("PUT") == 0


# -- across hosts ------------------------------------------------------------------------------

def test_cross_host_migration_with_a_token_per_side(tmp_path, capsys) -> None:
    """An Enterprise-Server-like source and a github.com-like destination: two FakeHub servers,
    each with its own token; each side is read or written with its own settings and token."""
    # the source without limits, as an Enterprise Server has by default; the destination
    # with github.com's (a handful of writes)
    source = FakeHub(tokens=("tok-src-6f1",), limits=Limits.off())
    dest = FakeHub(tokens=("tok-dst-2c9",))
    source.add_repos("corp", 3, environments=("production",))
    dest.add_repos("corp-cloud", 3, environments=("production",))
    source.set_secret("ORG_WIDE", b"x", org="corp", selected=["repo-0002"])
    source.set_secret("API_KEY", b"x", repo="corp/repo-0001")
    source.set_secret("DEPLOY", b"x", repo="corp/repo-0003", env="production")
    values = tmp_path / "v.env"
    values.write_text(f"ORG_WIDE={CANARY}-1\nAPI_KEY={CANARY}-2\nDEPLOY={CANARY}-3\n")
    tokens = {"from": "tok-src-6f1", "to": "tok-dst-2c9"}
    with source.serve_in_thread() as src_url, dest.serve_in_thread() as dst_url:
        urls = {"from": src_url + "/api/v3", "to": dst_url}
        args = ("--from", "corp", "--to", "corp-cloud", "--values", str(values))
        assert migrate(urls, tmp_path, *args, tokens=tokens) == 0
        assert source.count("PUT") == 0
        assert dest.plaintext("ORG_WIDE", org="corp-cloud") == f"{CANARY}-1".encode()
        assert dest.secret("ORG_WIDE", org="corp-cloud")["selected_repository_ids"] == [
            dest.repo_id("corp-cloud/repo-0002")]
        assert dest.plaintext("API_KEY", repo="corp-cloud/repo-0001") == f"{CANARY}-2".encode()
        assert dest.plaintext("DEPLOY", repo="corp-cloud/repo-0003", env="production") \
            == f"{CANARY}-3".encode()
        dest.reset_counters()
        assert migrate(urls, tmp_path, *args, tokens=tokens) == 0
        assert dest.count("PUT") == 0
    captured = capsys.readouterr()
    assert "corp (127.0.0.1:" in captured.out
    text = everything_written(tmp_path / "state", captured)
    assert CANARY not in text and "tok-src-6f1" not in text and "tok-dst-2c9" not in text


# -- a killed migration resumes ----------------------------------------------------------------

DRIVER = """\
import argparse, functools, sys
import anyio
from syncer.commands import Output
from syncer.commands.migrate import add_arguments, report, request_from, run_with
from syncer.observe import logs
from syncer.execution.connect import Settings

url, token, *argv = sys.argv[1:]
logs.configure("json", "info")
parser = argparse.ArgumentParser()
add_arguments(parser)
args = parser.parse_args(argv)
args.quiet = True
settings = Settings(api_url=url, concurrency=8, points_per_minute=0)
command = request_from(args)
result = anyio.run(functools.partial(run_with, command.migration,
                                     settings_for=lambda side: settings,
                                     token_for=lambda side: token))
sys.exit(report(command, result, Output(sys.stdout, sys.stderr)))
"""


@pytest.mark.slow
def test_sigkill_mid_migration_then_rerun_resumes_from_the_journal(tmp_path) -> None:
    """A migration killed with SIGKILL (no state saved) and run again finishes the job without
    rewriting what the killed run wrote: its journal says what is done."""
    import random
    import signal
    import time

    repos = 300
    hub = org_hub(repos, "src", "dst", environments=())  # limits off: 300 writes, not pacing
    for i in range(1, repos + 1):
        hub.set_secret("API_KEY", b"x", repo=f"src/repo-{i:04d}")
    hub.on_request = lambda method, template, n: time.sleep(0.003) if method == "PUT" else None
    values = tmp_path / "v.env"
    values.write_text(f"API_KEY={CANARY}\n")
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    kill_at = random.randrange(20, 250)
    with hub.serve_in_thread() as url:
        command = [sys.executable, str(driver), url, TOKEN, "--from", "src", "--to", "dst",
                   "--values", str(values), "--state", str(tmp_path / "state" / "state.json")]
        first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while hub.count("PUT") < kill_at:
            assert first.poll() is None, "the run ended before the kill point"
            assert time.monotonic() < deadline
            time.sleep(0.005)
        first.send_signal(signal.SIGKILL)
        first.wait()
        written = hub.count("PUT")
        second = subprocess.run(command, capture_output=True, text=True, timeout=120,
                                check=False)
    assert second.returncode == 0, second.stderr[-2000:]
    assert '"event": "resume"' in second.stderr
    assert all(hub.plaintext("API_KEY", repo=f"dst/repo-{i:04d}") == CANARY.encode()
               for i in range(1, repos + 1))
    assert hub.count("PUT") <= repos + 8, f"killed after {written} PUTs"
    assert CANARY not in second.stdout + second.stderr
