"""`[[variable]]` tables in the config: `plan` / `apply` / `--prune` / `--detailed-exitcode` over
Actions and agent variables beside secrets, against fakehub (checked through its Python API).

A variable's value comes back with the listing, so drift is exact: a no-op run sends one listing
per managed scope and kind and no write; a value changed by hand is drifted and fixed with one
write; bad input is refused (exit 2) before any request.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from helpers import config_toml, github_env, managed, org_hub, run_cli, write_config

from syncer.fakehub import FakeHub

CONFIG = config_toml(
    managed("secret", "NPM_TOKEN", "env:NPM_VALUE", visibility="private"),
    managed("secret", "SENTRY_DSN", "env:SENTRY_VALUE", repos=["repo-*"]),
    managed("variable", "REGION", "eu-west-1", repos=["repo-*"]),
    managed("variable", "DEPLOY_STAGE", "env:STAGE_VALUE", environments=["production"],
            repos=["repo-01*"]),
    sync="concurrency = 32\npoints_per_minute = 0")
WRITES = ("POST", "PATCH", "PUT", "DELETE")


@pytest.fixture
def hub() -> FakeHub:
    return org_hub(300, record=True)


def sync(command: str, url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *extra: str,
         config: str = CONFIG, env: dict[str, str] | None = None) -> int:
    path = write_config(tmp_path, config)
    values = github_env(url, **{"NPM_VALUE": "npm-secret-4c1", "SENTRY_VALUE": "sentry-secret-9e2",
                                "STAGE_VALUE": "prod", **(env or {})})
    return run_cli([command, "-c", str(path), "--state", str(tmp_path / "state.json"),
                    "--quiet", *extra], values, monkeypatch)


def writes(hub: FakeHub) -> int:
    return sum(hub.count(method) for method in WRITES)


def listings(hub: FakeHub) -> Counter[str]:
    """GET requests of secret and variable listings, by path (one per scope and kind)."""
    return Counter(e.path for e in hub.exchanges
                   if e.method == "GET" and e.template.endswith(("/secrets", "/variables")))


def test_second_apply_writes_nothing_and_lists_each_scope_once(hub, tmp_path,
                                                               monkeypatch) -> None:
    """Two secrets and two variables over 300 repositories: the first apply writes every
    target, each variable with one POST (the listing said it was missing); the second writes
    nothing and sends one listing per managed scope and kind (30 variables fit one page)."""
    with hub.serve_in_thread() as url:
        assert sync("apply", url, tmp_path, monkeypatch) == 0
        assert hub.count("POST") == 300 + 100 and hub.count("PUT") == 1 + 300
        assert writes(hub) == 701
        assert hub.count("GET", "/repos/{owner}/{repo}/actions/variables/{name}") == 0
        assert hub.variable_value("REGION", repo="acme/repo-0300") == "eu-west-1"
        assert hub.variable_value("DEPLOY_STAGE", repo="acme/repo-0150", env="production") \
            == "prod"
        assert hub.variable_value("DEPLOY_STAGE", repo="acme/repo-0250", env="production") \
            is None
        assert hub.plaintext("SENTRY_DSN", repo="acme/repo-0001") == b"sentry-secret-9e2"

        hub.reset_counters()
        assert sync("apply", url, tmp_path, monkeypatch, "--detailed-exitcode") == 0
    assert writes(hub) == 0
    listed = listings(hub)
    assert set(listed.values()) == {1}
    assert len(listed) == 1 + 300 + 300 + 100  # org secrets, repo secrets and variables, envs
    assert "/repos/acme/repo-0150/environments/production/variables" in listed


def test_a_variable_changed_by_hand_is_drifted_and_fixed_with_one_write(
        hub, tmp_path, monkeypatch, capsys) -> None:
    """A value changed on GitHub (whatever its time) is drifted in plan: exit 5 with
    --detailed-exitcode, shown as a variable; apply rewrites it with one PATCH."""
    with hub.serve_in_thread() as url:
        assert sync("apply", url, tmp_path, monkeypatch) == 0
        hub.set_variable("REGION", "us-east-1", repo="acme/repo-0200")
        capsys.readouterr()
        hub.reset_counters()
        assert sync("plan", url, tmp_path, monkeypatch, "--format", "json") == 0
        plan = json.loads(capsys.readouterr().out)
        assert [(i["scope"], i["name"], i["target"], i["why"]) for i in plan["items"]
                if i["change"] != "unchanged"] == [
            ("acme/repo-0200 (variables)", "REGION", "variable", "value changed on GitHub")]
        assert sync("plan", url, tmp_path, monkeypatch, "--detailed-exitcode") == 5
        assert "REGION (variable): drifted 1, unchanged 299" in capsys.readouterr().out
        assert writes(hub) == 0
        assert sync("apply", url, tmp_path, monkeypatch, "--detailed-exitcode") == 5
        assert writes(hub) == hub.count("PATCH") == 1
        assert hub.variable_value("REGION", repo="acme/repo-0200") == "eu-west-1"
        assert sync("plan", url, tmp_path, monkeypatch, "--detailed-exitcode") == 0


def test_a_new_value_updates_and_prune_deletes_undeclared_variables(hub, tmp_path,
                                                                    monkeypatch) -> None:
    """A new value in the config is one PATCH per target; --prune deletes a variable the config
    does not declare in a scope it manages, never elsewhere, and never a secret of that name."""
    hub.set_variable("STRAY", "old", repo="acme/repo-0100", env="production")
    hub.set_variable("STRAY", "old", repo="acme/repo-0250", env="production")  # not managed
    hub.set_secret("STRAY", b"kept", repo="acme/repo-0100", env="production")  # secrets there
    #                                                                            are not managed
    with hub.serve_in_thread() as url:
        assert sync("apply", url, tmp_path, monkeypatch) == 0
        hub.reset_counters()
        assert sync("apply", url, tmp_path, monkeypatch, "--prune",
                    env={"STAGE_VALUE": "staging"}) == 0
    assert hub.count("PATCH") == 100 and hub.count("DELETE") == 1 and writes(hub) == 101
    assert hub.variable_value("DEPLOY_STAGE", repo="acme/repo-0100", env="production") \
        == "staging"
    assert hub.variables(repo="acme/repo-0100", env="production") == {"DEPLOY_STAGE": "staging"}
    assert hub.variable_value("STRAY", repo="acme/repo-0250", env="production") == "old"
    assert hub.plaintext("STRAY", repo="acme/repo-0100", env="production") == b"kept"


ORG_AND_AGENTS = config_toml(
    managed("variable", "SHARED", "yes", visibility="selected", selected=["repo-000*"]),
    managed("variable", "MODEL", "fast", app="agents", repos=["repo-01*"]))


def test_org_and_agent_variables(hub, tmp_path, monkeypatch, capsys) -> None:
    """An org variable with its selected repositories, and the Copilot agent's repository
    variables; a widened selection on GitHub is drifted and put back."""
    with hub.serve_in_thread() as url:
        assert sync("apply", url, tmp_path, monkeypatch, config=ORG_AND_AGENTS) == 0
        shared = hub.variable("SHARED", org="acme")
        assert shared is not None and shared["value"] == "yes"
        ids = sorted(shared["selected_repository_ids"])
        assert len(ids) == 9  # repo-0001 .. repo-0009
        assert hub.variable_value("MODEL", repo="acme/repo-0100", app="agents") == "fast"
        assert hub.variable_value("MODEL", repo="acme/repo-0100") is None
        assert sync("apply", url, tmp_path, monkeypatch, "--detailed-exitcode",
                    config=ORG_AND_AGENTS) == 0

        widened = [*ids, hub.repo_id("acme/repo-0299")]
        hub.set_variable("SHARED", "yes", org="acme", selected=widened)
        capsys.readouterr()
        assert sync("plan", url, tmp_path, monkeypatch, "--format", "json",
                    config=ORG_AND_AGENTS) == 0
        assert [(i["scope"], i["change"]) for i in json.loads(capsys.readouterr().out)["items"]
                if i["change"] != "unchanged"] == [("acme (variables)", "drifted")]
        hub.reset_counters()
        assert sync("apply", url, tmp_path, monkeypatch, "--detailed-exitcode",
                    config=ORG_AND_AGENTS) == 5
    assert writes(hub) == hub.count("PATCH") == 1
    assert sorted(hub.variable("SHARED", org="acme")["selected_repository_ids"]) == ids


def test_a_scope_past_githubs_limit_is_refused_before_any_write(hub, tmp_path,
                                                                monkeypatch, capsys) -> None:
    """499 variables in a repository and a config adding two: GitHub would refuse the 501st,
    so plan and apply say so (exit 2) and write nothing."""
    for n in range(499):
        hub.set_variable(f"OLD_{n}", "x", repo="acme/repo-0007")
    config = config_toml(managed("variable", "ONE", "1", repos=["repo-0007"]),
                         managed("variable", "TWO", "2", repos=["repo-000*"]))
    with hub.serve_in_thread() as url:
        assert sync("apply", url, tmp_path, monkeypatch, config=config) == 2
        assert sync("plan", url, tmp_path, monkeypatch, config=config) == 2
    assert writes(hub) == 0
    assert "acme/repo-0007 (variables) would hold 501 variables (1 more than GitHub's 500)" \
        in capsys.readouterr().err


def _variable(body: str) -> str:
    return f'[github]\norg = "acme"\n[[variable]]\n{body}\n[variable.repos]\n'


MANY = "[github]\norg = \"acme\"\n" + "".join(
    f"[[variable]]\nname = \"V{n}\"\nvalue = \"x\"\n[variable.repos]\nmatch = [\"repo-*\"]\n"
    for n in range(501))


@pytest.mark.parametrize("config,env,message", [
    (_variable('name = "GITHUB_REGION"\nvalue = "x"'), {},
     "variable[0].name: variable name must not start with GITHUB_"),
    (_variable(f'name = "BIG"\nvalue = "{"x" * (48 * 1024 + 1)}"'), {},
     "variable[0].value: variable value is 49153 bytes; GitHub allows at most 49152"),
    (_variable('name = "BIG"\nvalue = "env:BIG"'), {"BIG": "x" * (48 * 1024 + 1)},
     "variable[0].value: env:BIG: variable value is over 49152 bytes"),
    (MANY, {}, "variable[500]: V500 would be variable 501 of each repository of acme its "
     "[variable.repos] selects; GitHub allows at most 500 repository variables"),
    (_variable('name = "R"\nvalue = "x"\napp = "dependabot"'), {},
     "variable[0].app: 'dependabot' has secrets only: variables exist for actions and agents"),
    ('[github]\norg = "acme"\n[[secret]]\nname = "S"\nvalue = "eu-west-1"\n[secret.repos]\n', {},
     "secret[0].value: is not a value source"),
])
def test_bad_input_is_refused_before_any_request(hub, tmp_path, monkeypatch, capsys, config,
                                                 env, message) -> None:
    """A reserved name, a value over 48 KB (written or read), a 501st repository variable, an
    app without variables, a literal value on a [[secret]]: exit 2 naming the key path, and
    not one request sent."""
    with hub.serve_in_thread() as url:
        assert sync("apply", url, tmp_path, monkeypatch, config=config, env=env) == 2
    assert message in capsys.readouterr().err
    assert hub.count() == 0


def test_a_created_environment_gets_its_variable_with_one_post(hub, tmp_path,
                                                              monkeypatch) -> None:
    """With create_environments, an environment the repository lacks is created and its
    variable written with one POST: the plan knows it cannot exist yet, nothing asks."""
    config = config_toml(managed("variable", "STAGE", "staging", environments=["staging"],
                                 repos=["repo-000[1-3]"]),
                         sync="points_per_minute = 0\ncreate_environments = true")
    with hub.serve_in_thread() as url:
        assert sync("apply", url, tmp_path, monkeypatch, config=config) == 0
    assert hub.count("PUT", "/repos/{owner}/{repo}/environments/{environment_name}") == 3
    assert hub.count("POST") == 3 and writes(hub) == 3 + 3
    assert hub.count("GET", "/repos/{owner}/{repo}/environments/{environment_name}/variables/"
                            "{name}") == 0
    assert hub.variable_value("STAGE", repo="acme/repo-0002", env="staging") == "staging"


def test_values_already_right_are_adopted_so_a_later_change_is_drift(hub, tmp_path,
                                                                    monkeypatch) -> None:
    """With the state gone (a fresh runner), apply finds every variable already right and
    writes nothing, but records them as its own: a value changed by hand afterwards is
    drifted (exit 5), not a mere update."""
    with hub.serve_in_thread() as url:
        assert sync("apply", url, tmp_path, monkeypatch, config=ORG_AND_AGENTS) == 0
        (tmp_path / "state.json").unlink()
        hub.reset_counters()
        assert sync("apply", url, tmp_path, monkeypatch, "--detailed-exitcode",
                    config=ORG_AND_AGENTS) == 0
        assert writes(hub) == 0
        hub.set_variable("MODEL", "slow", repo="acme/repo-0150", app="agents")
        assert sync("plan", url, tmp_path, monkeypatch, "--detailed-exitcode",
                    config=ORG_AND_AGENTS) == 5
        assert sync("apply", url, tmp_path, monkeypatch, "--detailed-exitcode",
                    config=ORG_AND_AGENTS) == 5
    assert writes(hub) == 1
    assert hub.variable_value("MODEL", repo="acme/repo-0150", app="agents") == "fast"
