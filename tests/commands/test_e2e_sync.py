"""`syncer plan` / `syncer apply` end to end: config → GitHub, skip-unchanged, drift, prune."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import (
    REPO_ROOT,
    TOKEN,
    config_toml,
    fakehub_process,
    github_env,
    managed,
    org_hub,
    run_cli,
    syncer_popen,
    syncer_process,
    write_config,
)

from syncer.fakehub import FakeHub
from syncer.fakehub.rules import ApiError
from syncer.store.state import State

CANARY = "canary-sync-value-b7e1"
CONFIG = config_toml(
    managed("secret", "NPM_TOKEN", "env:NPM_VALUE", visibility="selected",
            selected=["repo-00[0-4]*"]),
    managed("secret", "SENTRY_DSN", "env:SENTRY_VALUE", repos=["repo-*"], exclude=["repo-003*"]),
    managed("secret", "DEPLOY_TOKEN", "env:DEPLOY_VALUE", environments=["production"],
            repos=["repo-01*"]),
    sync="concurrency = 32\npoints_per_minute = 0")
PUTS = ("PUT", None)
ONE_SECRET_ONE_AT_A_TIME = config_toml(managed("secret", "X", "env:X_VALUE", repos=["repo-*"]),
                                       sync="concurrency = 1\npoints_per_minute = 0")


@pytest.fixture
def hub() -> FakeHub:
    return org_hub(300)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    return {"config": str(write_config(tmp_path, CONFIG)),
            "state": str(tmp_path / "state" / "state.json")}


def sync(command: str, url: str, files: dict[str, str], monkeypatch, *extra: str,
         values: dict[str, str] | None = None) -> int:
    env = github_env(url, **{"NPM_VALUE": CANARY + "-npm", "SENTRY_VALUE": CANARY + "-sentry",
                             "DEPLOY_VALUE": CANARY + "-deploy", **(values or {})})
    return run_cli([command, "-c", files["config"], "--state", files["state"], "--quiet", *extra],
                   env, monkeypatch)


def test_first_apply_writes_all_second_writes_nothing(hub, url, files, monkeypatch, capsys) -> None:
    """300 repos, 3 secrets: the first apply writes every target; the second sends no PUT."""
    assert sync("apply", url, files, monkeypatch) == 0
    org = hub.secret("NPM_TOKEN", org="acme")
    assert org["visibility"] == "selected"
    assert len(org["selected_repository_ids"]) == 49  # repo-0001 .. repo-0049
    assert hub.plaintext("NPM_TOKEN", org="acme") == f"{CANARY}-npm".encode()
    assert hub.plaintext("SENTRY_DSN", repo="acme/repo-0299") == f"{CANARY}-sentry".encode()
    assert hub.plaintext("SENTRY_DSN", repo="acme/repo-0035") is None
    assert hub.plaintext("DEPLOY_TOKEN", repo="acme/repo-0150", env="production") \
        == f"{CANARY}-deploy".encode()
    first_puts = hub.count("PUT")
    assert first_puts == 1 + 290 + 100

    hub.reset_counters()
    assert sync("apply", url, files, monkeypatch) == 0
    assert hub.count("PUT") == 0 and hub.count("DELETE") == 0
    assert hub.count("GET", "/repos/{owner}/{repo}/actions/secrets/public-key") == 0


def test_drift_is_planned_and_fixed_alone(hub, url, files, monkeypatch, capsys) -> None:
    """A secret changed directly on GitHub shows as drifted in plan; apply rewrites only it.
    With --detailed-exitcode both say so with exit 5 (0 while in sync)."""
    assert sync("apply", url, files, monkeypatch) == 0
    assert sync("plan", url, files, monkeypatch, "--detailed-exitcode") == 0
    assert sync("apply", url, files, monkeypatch, "--detailed-exitcode") == 0
    an_hour_later = datetime.now(UTC) + timedelta(hours=1)
    hub.set_secret("SENTRY_DSN", b"changed by hand", repo="acme/repo-0200",
                   updated_at=an_hour_later)
    capsys.readouterr()
    hub.reset_counters()
    assert sync("plan", url, files, monkeypatch, "--format", "json") == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["counts"]["drifted"] == 1
    drifted = [i for i in plan["items"] if i["change"] == "drifted"]
    assert drifted[0]["scope"] == "acme/repo-0200" and drifted[0]["name"] == "SENTRY_DSN"
    assert plan["counts"]["create"] == plan["counts"]["update"] == 0
    assert hub.count("PUT") == 0 and hub.count("DELETE") == 0

    assert sync("plan", url, files, monkeypatch, "--detailed-exitcode") == 5  # a write pending
    assert sync("apply", url, files, monkeypatch, "--detailed-exitcode") == 5  # drift rewritten
    assert hub.count("PUT") == 1
    assert hub.plaintext("SENTRY_DSN", repo="acme/repo-0200") == f"{CANARY}-sentry".encode()
    assert "drifted" in capsys.readouterr().err


def test_hand_changes_to_who_may_read_a_secret_or_whether_it_exists_are_drift(
        hub, url, files, monkeypatch, capsys) -> None:
    """After an apply, someone widens the org secret's selection (the selected-repositories
    endpoint, which leaves updated_at alone), deletes a repository secret and adds one the
    config does not declare: plan calls the first two drifted, and apply --prune
    --detailed-exitcode undoes all three with exit 5. A selection the config itself changes is
    an update, not drift (exit 0)."""
    assert sync("apply", url, files, monkeypatch) == 0
    ids = hub.secret("NPM_TOKEN", org="acme")["selected_repository_ids"]
    widened = json.dumps({"selected_repository_ids": [*ids, hub.repo_id("acme/repo-0299")]})
    by_hand = urllib.request.Request(
        f"{url}/orgs/acme/actions/secrets/NPM_TOKEN/repositories", data=widened.encode(),
        method="PUT", headers={"Authorization": f"Bearer {TOKEN}", "User-Agent": "by-hand"})
    with urllib.request.urlopen(by_hand) as answer:
        assert answer.status == 204
    hub.delete_secret("SENTRY_DSN", repo="acme/repo-0201")
    hub.set_secret("STRAY", b"added by hand", repo="acme/repo-0100")
    capsys.readouterr()
    assert sync("plan", url, files, monkeypatch, "--format", "json") == 0
    drifted = {(i["scope"], i["name"], i["why"]) for i in json.loads(capsys.readouterr().out)[
        "items"] if i["change"] == "drifted"}
    assert drifted == {
        ("acme", "NPM_TOKEN", "visibility or selected repositories changed on GitHub"),
        ("acme/repo-0201", "SENTRY_DSN", "deleted on GitHub after syncer wrote it")}
    assert sync("apply", url, files, monkeypatch, "--prune", "--detailed-exitcode") == 5
    assert sorted(hub.secret("NPM_TOKEN", org="acme")["selected_repository_ids"]) == sorted(ids)
    assert hub.plaintext("SENTRY_DSN", repo="acme/repo-0201") == f"{CANARY}-sentry".encode()
    assert hub.plaintext("STRAY", repo="acme/repo-0100") is None
    assert sync("apply", url, files, monkeypatch, "--prune", "--detailed-exitcode") == 0

    narrower = Path(files["config"]).read_text().replace('"repo-00[0-4]*"', '"repo-00[0-2]*"')
    Path(files["config"]).write_text(narrower)
    assert sync("apply", url, files, monkeypatch, "--detailed-exitcode") == 0
    assert len(hub.secret("NPM_TOKEN", org="acme")["selected_repository_ids"]) == 29


def test_plan_never_writes_and_shows_creates(hub, url, files, monkeypatch, capsys) -> None:
    """plan on an empty org lists every create, grouped by secret, and writes nothing."""
    assert sync("plan", url, files, monkeypatch) == 0
    out = capsys.readouterr().out
    assert "SENTRY_DSN: create 290" in out and "DEPLOY_TOKEN: create 100" in out
    assert "plan: create 391" in out
    assert hub.count("PUT") == 0 and hub.count("DELETE") == 0


def test_changed_value_updates_every_target(hub, url, files, monkeypatch) -> None:
    """A new value in the source updates each target of that secret only."""
    assert sync("apply", url, files, monkeypatch) == 0
    hub.reset_counters()
    assert sync("apply", url, files, monkeypatch, values={"DEPLOY_VALUE": "rotated"}) == 0
    assert hub.count("PUT") == 100
    assert hub.plaintext("DEPLOY_TOKEN", repo="acme/repo-0110", env="production") == b"rotated"


def test_org_selection_change_keeps_value_and_updates(hub, url, files, monkeypatch) -> None:
    """A repository added to the org secret's selection rewrites that one org secret."""
    assert sync("apply", url, files, monkeypatch) == 0
    hub.add_repo("acme", "repo-0001b")
    hub.reset_counters()
    assert sync("apply", url, files, monkeypatch) == 0
    assert hub.count("PUT", "/orgs/{org}/actions/secrets/{secret_name}") == 1
    assert hub.repo_id("acme/repo-0001b") in hub.secret("NPM_TOKEN", org="acme")["selected_repository_ids"]


def test_prune_deletes_only_undeclared_in_managed_scopes(hub, url, files, monkeypatch) -> None:
    """--prune deletes secrets the config does not declare, only where the config writes."""
    hub.set_secret("OLD_THING", b"x", repo="acme/repo-0100")
    hub.set_secret("OLD_THING", b"x", repo="acme/repo-0035")  # excluded: not managed
    assert sync("apply", url, files, monkeypatch, "--prune") == 0
    assert hub.secret_names(repo="acme/repo-0100") == ["SENTRY_DSN"]
    assert "OLD_THING" in hub.secret_names(repo="acme/repo-0035")


def test_missing_environment_is_reported(hub, url, files, monkeypatch, capsys) -> None:
    """A selected repo without the environment is reported as a missing target, and counted
    beside the summary (it is no outcome: nothing was attempted there); exit 1."""
    hub.add_repo("acme", "repo-01-noenv", environments=())
    assert sync("apply", url, files, monkeypatch) == 1
    err = capsys.readouterr().err
    assert "missing target" in err and "\nmissing 1: the config names" in err


def test_state_holds_no_value(hub, url, files, monkeypatch, capsys) -> None:
    """State file, logs and plan output never contain the canary values."""
    assert sync("apply", url, files, monkeypatch) == 0
    assert sync("plan", url, files, monkeypatch, "--format", "json") == 0
    captured = capsys.readouterr()
    state_dir = Path(files["state"]).parent
    everything = captured.out + captured.err + "".join(
        p.read_bytes().decode("latin-1") for p in state_dir.iterdir() if p.is_file())
    assert CANARY not in everything and TOKEN not in everything


def test_second_run_while_locked_exits_4(hub, url, files, monkeypatch, capsys) -> None:
    """Another apply holding the state lock: exit 4, nothing written, and no value read (a
    cmd: source may mint a credential)."""
    ran = Path(files["config"]).parent / "ran"
    config = Path(files["config"]).read_text().replace(
        'value = "env:NPM_VALUE"', f'value = "cmd:sh -c \'touch {ran}; echo a\'"')
    Path(files["config"]).write_text(config)
    state = State.open(files["state"])
    with state.lock():
        env = github_env(url, NPM_VALUE="a", SENTRY_VALUE="b", DEPLOY_VALUE="c",
                         PATH="/usr/bin:/bin")
        done = subprocess.run([sys.executable, "-m", "syncer", "apply", "-c", files["config"],
                               "--state", files["state"]], env=env, capture_output=True)
    assert done.returncode == 4, done.stderr
    assert b"lock" in done.stderr
    assert hub.count() == 0 and not ran.exists()


def test_example_config_plans_against_syncer_fakehub(tmp_path) -> None:
    """The README's walk-through: config.example.toml planned against a default `syncer
    fakehub --org acme --org acme-ops`: every [[secret]] selects what the README says (by
    name, topic, archived, fork, exclude), and so does every [[variable]]; no pattern matches
    nothing, and the only missing
    targets are the environments acme-ops's deps-npm and libs lack (exit 1)."""
    example = REPO_ROOT / "config.example.toml"
    # limits off: the README's walk-through runs unpaced; this is about the config
    with fakehub_process("--org", "acme", "--org", "acme-ops", "--no-limits") as fh:
        done = syncer_process(
            ["plan", "-c", str(example), "--state", str(tmp_path / "state.json")],
            {"GITHUB_API_URL": fh.url, "SYNCER_TOKEN": fh.token, "NPM_TOKEN": "n",
             "SENTRY_DSN": "s", "DEPLOY_TOKEN": "d", "REGISTRY_PASSWORD": "r"})
    assert done.returncode == 1, done.stderr
    out, err = done.stdout.decode(), done.stderr.decode()
    assert "matches no repository" not in err and "selects_nothing" not in err
    assert "DEPLOY_TOKEN: create 12, missing target 4" in out
    assert "NPM_TOKEN: create 1\n" in out and "REGISTRY_PASSWORD: create 2\n" in out
    assert "SENTRY_DSN: create 2\n  create         acme/api\n  create         acme/svc-billing\n" in out
    missing = sorted(line.split()[2] for line in out.splitlines()
                     if line.startswith("  missing target "))
    assert missing == ["acme-ops/deps-npm:production", "acme-ops/deps-npm:staging",
                       "acme-ops/libs:production", "acme-ops/libs:staging"]
    assert "AWS_REGION (variable): create 3\n" in out and "LOG_LEVEL (variable): create 7\n" in out
    assert "plan: create 27, update 0, drifted 0, unchanged 0, prune 0, missing target 4" in out


def test_create_environments_creates_then_writes(hub, url, files, monkeypatch, capsys) -> None:
    """With create_environments = true, a selected repo missing the environment gets it
    created, then the secret; plan says so and writes nothing."""
    hub.add_repo("acme", "repo-01-noenv", environments=())
    Path(files["config"]).write_text(CONFIG.replace("points_per_minute = 0",
                                                    "points_per_minute = 0\ncreate_environments = true"))
    assert sync("plan", url, files, monkeypatch) == 0
    assert "environment 'production' created first" in capsys.readouterr().out
    assert hub.count("PUT") == 0
    assert sync("apply", url, files, monkeypatch) == 0
    assert hub.plaintext("DEPLOY_TOKEN", repo="acme/repo-01-noenv", env="production") \
        == f"{CANARY}-deploy".encode()


def test_config_with_five_mistakes_reports_all_and_exits_2(tmp_path, monkeypatch, capsys) -> None:
    """Five different mistakes: all five reported with file and line in one run, exit 2,
    no request sent."""
    bad = tmp_path / "bad.toml"
    bad.write_text("""[github]
org = "acme"
[sync]
concurency = 16
points_per_minute = -1
[[secret]]
name = "GITHUB_NOPE"
value = "env:X"
[secret.repos]
match = ["*"]
[[secret]]
name = "OK"
value = "plaintext-by-mistake"
[secret.org]
visibility = "sometimes"
""")
    code = run_cli(["plan", "-c", str(bad)], {"GITHUB_TOKEN": TOKEN,
                                              "GITHUB_API_URL": "http://127.0.0.1:9"},
                   monkeypatch)
    err = capsys.readouterr().err
    assert code == 2
    for line, words in ((4, "concurency"), (5, "points_per_minute"), (7, "GITHUB_"),
                        (13, "value"), (15, "visibility")):
        assert f"bad.toml:{line}:" in err and words in err, (line, err)
    assert "plaintext-by-mistake" not in err


def test_a_selector_matching_nothing_is_warned_about(hub, url, files, monkeypatch, capsys) -> None:
    """A [secret.repos] or selected_repos that matches no repository is said, not silent."""
    Path(files["config"]).write_text(CONFIG.replace('match = ["repo-01*"]', 'match = ["rpeo-*"]'))
    assert sync("plan", url, files, monkeypatch) == 0
    assert "[secret.repos] matches no repository of acme" in capsys.readouterr().err


def test_overlapping_secrets_are_refused_without_a_false_selects_nothing(
        hub, url, tmp_path, monkeypatch, capsys) -> None:
    """Two [[secret]] of one name whose repository patterns overlap: exit 2 naming the
    duplicate, nothing written, and no warning that the second selects nothing (it does)."""
    config = tmp_path / "dup.toml"
    config.write_text(CONFIG.split("[[secret]]")[0]
                      + managed("secret", "DUP", "env:NPM_VALUE", repos=["repo-000*"])
                      + managed("secret", "DUP", "env:SENTRY_VALUE",
                                repos=["repo-0001", "repo-0002"]))
    files = {"config": str(config), "state": str(tmp_path / "state.json")}
    assert sync("apply", url, files, monkeypatch) == 2
    err = capsys.readouterr().err
    assert "DUP" in err and "selects_nothing" not in err and "matches no repository" not in err
    assert hub.count("PUT") == 0


@pytest.mark.parametrize("command", ["apply", "set", "rotate"])
def test_a_change_on_github_after_a_killed_run_is_rewritten_by_the_resume(command, tmp_path
                                                                          ) -> None:
    """The run is killed after some writes (its state never saved); someone then changes those
    secrets on GitHub. Running the command again resumes the killed run, but a write changed
    since it was made is not counted as done: GitHub ends with the new value everywhere."""
    hub = org_hub(5, environments=())
    for n in range(1, 6):  # rotate writes where the secret lives
        hub.set_secret("X", b"old", repo=f"acme/repo-{n:04d}")
    config = write_config(tmp_path, ONE_SECRET_ONE_AT_A_TIME)
    state = ["--state", str(tmp_path / "state.json"), "--log-format", "json"]
    args = {"apply": ["apply", "-c", str(config), *state],
            "set": ["set", "X", "--org", "acme", "--value-from", "env:X_VALUE", "--concurrency",
                    "1", "--points-per-minute", "0", *state],
            "rotate": ["rotate", "X", "--org", "acme", "--value-from", "env:X_VALUE",
                       "--concurrency", "1", "--points-per-minute", "0", *state]}[command]
    killed: list[subprocess.Popen[bytes]] = []

    def kill_at_the_third_put(method: str, template: str, so_far: int) -> None:
        # With one write at a time, the third PUT arrives after two writes were journalled.
        if method == "PUT" and so_far == 3 and killed:
            killed[0].kill()
            killed[0].wait()

    with hub.serve_in_thread() as url:
        env = github_env(url, X_VALUE=CANARY)
        hub.on_request = kill_at_the_third_put
        killed.append(syncer_popen(args, env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL))
        assert killed[0].wait(timeout=60) == -signal.SIGKILL
        hub.on_request = None
        written = [f"acme/repo-{n:04d}" for n in range(1, 6)
                   if hub.plaintext("X", repo=f"acme/repo-{n:04d}") == CANARY.encode()]
        assert len(written) == 3
        an_hour_later = datetime.now(UTC) + timedelta(hours=1)
        for repo in written:
            hub.set_secret("X", b"by hand", repo=repo, updated_at=an_hour_later)

        resumed = syncer_process(args, env)
        assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]
        assert {hub.plaintext("X", repo=f"acme/repo-{n:04d}") for n in range(1, 6)} \
            == {CANARY.encode()}
        assert resumed.stderr.count(b"resume_rewrite") == 2  # the journalled two of the three
        if command == "rotate":  # the proof of where the value landed covers every place
            assert len(resumed.stdout.decode().strip().splitlines()) == 5


def test_writes_before_the_token_is_revoked_are_remembered(tmp_path, monkeypatch, capsys) -> None:
    """The token is revoked mid-apply: the run stops (exit 3), and the writes it made are in
    the state file, so the next plan counts them unchanged instead of rewriting them."""
    hub = org_hub(5)
    config = write_config(tmp_path, ONE_SECRET_ONE_AT_A_TIME)
    files = {"config": str(config), "state": str(tmp_path / "state.json")}

    def revoke_at_the_third_put(method: str, template: str, so_far: int) -> None:
        if method == "PUT" and so_far == 3:
            hub.revoke_token(TOKEN)

    with hub.serve_in_thread() as url:
        hub.on_request = revoke_at_the_third_put
        assert sync("apply", url, files, monkeypatch, values={"X_VALUE": CANARY}) == 3
        hub.on_request = None
        hub.add_token(TOKEN)
        capsys.readouterr()
        assert sync("plan", url, files, monkeypatch, "--format", "json",
                    values={"X_VALUE": CANARY}) == 0
    counts = json.loads(capsys.readouterr().out)["counts"]
    assert (counts["unchanged"], counts["create"]) == (2, 3)


def test_an_org_the_token_cannot_see_is_a_config_error(hub, url, tmp_path, monkeypatch,
                                                       capsys) -> None:
    """One [[secret]] names an org that does not exist (a typo, or one the token lost): exit
    2, as for `--org` on the command line, naming it; nothing is written (a transient failure
    would be exit 1: an alert must tell the two apart)."""
    config = tmp_path / "two-orgs.toml"
    config.write_text(CONFIG + '\n[[secret]]\nname = "ELSEWHERE"\nvalue = "env:NPM_VALUE"\n'
                      'org = "acmee"\n[secret.repos]\nmatch = ["*"]\n'
                      '\n[[secret]]\nname = "ORG_WIDE"\nvalue = "env:NPM_VALUE"\n'
                      'owner = "acmee"\n[secret.org]\nvisibility = "all"\n')
    files = {"config": str(config), "state": str(tmp_path / "state.json")}
    for command in ("plan", "apply"):
        assert sync(command, url, files, monkeypatch) == 2
        last = capsys.readouterr().err.strip().splitlines()[-1]
        assert last == (f"syncer: error: {config}: organization acmee not found, or the token "
                        "cannot see it; nothing was written")
    assert hub.plaintext("SENTRY_DSN", repo="acme/repo-0299") is None


def test_an_org_whose_listing_is_refused_fails_alone(hub, url, tmp_path, monkeypatch,
                                                     capsys) -> None:
    """A second org answers its repository listing 403 (SAML enforcement, say): its secrets
    are planned unreadable with GitHub's answer, the first org is written, exit 1."""
    hub.add_org("other")
    hub.add_repos("other", 3)
    config = tmp_path / "two-orgs.toml"
    config.write_text(CONFIG + '\n[[secret]]\nname = "ELSEWHERE"\nvalue = "env:NPM_VALUE"\n'
                      'org = "other"\n[secret.repos]\nmatch = ["*"]\n')

    def saml_for_the_second_org(method: str, template: str, so_far: int) -> None:
        if template == "/orgs/{org}/repos" and so_far > 3:  # acme's 300 repos: 3 pages first
            raise ApiError(403, "Resource protected by organization SAML enforcement.")

    hub.on_request = saml_for_the_second_org
    files = {"config": str(config), "state": str(tmp_path / "state.json")}
    assert sync("apply", url, files, monkeypatch) == 1
    err = capsys.readouterr().err
    assert "unreadable 1" in err and "SAML enforcement" in err
    assert hub.plaintext("SENTRY_DSN", repo="acme/repo-0299") == f"{CANARY}-sentry".encode()
    assert hub.plaintext("ELSEWHERE", repo="other/repo-0001") is None


def test_an_unset_token_env_of_the_config_is_named(url, tmp_path, monkeypatch, capsys) -> None:
    """token_env read from the config file is named when unset (the file shows it anyway);
    the same name given as --token-env is named too, being a conventional name; a name that
    may be a token the shell put there is not."""
    config = tmp_path / "syncer.toml"
    config.write_text(CONFIG.replace('[github]\norg = "acme"\n',
                                     '[github]\norg = "acme"\ntoken_env = "NIGHTLY_TOKEN"\n'))
    files = {"config": str(config), "state": str(tmp_path / "state.json")}
    assert sync("plan", url, files, monkeypatch) == 3
    assert "NIGHTLY_TOKEN, named by token_env in the config, is unset" in capsys.readouterr().err
    assert sync("plan", url, files, monkeypatch, "--token-env", "NIGHTLY_TOKEN") == 3
    assert "NIGHTLY_TOKEN, named by --token-env or token_env, is unset" in capsys.readouterr().err
    assert sync("plan", url, files, monkeypatch, "--token-env", "n1ghtlyT0ken") == 3
    assert "n1ghtlyT0ken" not in capsys.readouterr().err


def test_a_repository_named_in_the_config_that_does_not_exist_is_a_missing_target(
        hub, url, tmp_path, monkeypatch, capsys) -> None:
    """A literal name in match (not a glob) that the org lacks is a typo or a repository gone:
    listed as a missing target, exit 1; the repositories that exist are written."""
    config = tmp_path / "named.toml"
    config.write_text('[github]\norg = "acme"\n[sync]\npoints_per_minute = 0\n'
                      '[[secret]]\nname = "X"\nvalue = "env:NPM_VALUE"\n'
                      '[secret.repos]\nmatch = ["repo-0001", "repo-9999", "nothing-*"]\n')
    files = {"config": str(config), "state": str(tmp_path / "state.json")}
    assert sync("apply", url, files, monkeypatch) == 1
    err = capsys.readouterr().err
    assert "missing target acme/repo-9999  (repository repo-9999 does not exist in acme)" in err
    assert "nothing-*" not in err.split("missing target", 1)[1]  # a glob may match nothing
    assert hub.plaintext("X", repo="acme/repo-0001") == f"{CANARY}-npm".encode()
