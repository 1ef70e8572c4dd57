"""`syncer variable set`: Actions and agent variables through the same engine as secrets,
against fakehub (its variables checked through its Python API)."""

from __future__ import annotations

from contextlib import nullcontext

import pytest
from helpers import github_env, org_hub, run_cli

from syncer.fakehub import FakeHub


@pytest.fixture
def hub() -> FakeHub:
    # limits off: these runs are about what is written where, not pacing (an Enterprise
    # Server without limits, so syncer runs unpaced)
    hub = org_hub(500, environments=(), record=True)
    for name in ("web-app", "web-site", "api"):
        hub.add_repo("acme", name, environments=("production",))
    return hub


def variable_set(url: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    return run_cli(["variable", "set", *args, "--org", "acme", "--quiet"],
                   github_env(url, V="from-env"), monkeypatch)


def writes(hub: FakeHub) -> int:
    return sum(hub.count(method) for method in ("POST", "PATCH", "PUT", "DELETE"))


def test_a_variable_lands_in_every_repository_one_write_each(hub, monkeypatch) -> None:
    """500 + 3 repositories: every one holds the value, created with one POST each; set again
    with a new value, each is updated with one PATCH."""
    with hub.serve_in_thread() as url:
        assert variable_set(url, monkeypatch, "REGION", "--value", "eu-west-1") == 0
        assert hub.count("POST") == 503 and writes(hub) == 503
        assert variable_set(url, monkeypatch, "REGION", "--value-from", "env:V") == 0
    assert hub.count("PATCH") == 503 and writes(hub) == 503 * 2
    assert hub.variable_value("REGION", repo="acme/repo-0001") == "from-env"
    assert hub.variable_value("REGION", repo="acme/web-app") == "from-env"


def test_environment_org_level_and_agent_variables(hub, monkeypatch) -> None:
    """--env in each repository that has it, an org variable for the repositories --repos
    selects, and the Copilot agent's variables with --app agents."""
    with hub.serve_in_thread() as url:
        assert variable_set(url, monkeypatch, "STAGE", "--value", "prod", "--env",
                            "production", "--repos", "web-*") == 0
        assert variable_set(url, monkeypatch, "SHARED", "--value", "yes", "--org-level",
                            "--visibility", "selected", "--repos", "web-*") == 0
        assert variable_set(url, monkeypatch, "MODEL", "--value", "fast", "--app", "agents",
                            "--repos", "api") == 0
    assert hub.variable_value("STAGE", repo="acme/web-app", env="production") == "prod"
    assert hub.variable_value("STAGE", repo="acme/web-site", env="production") == "prod"
    shared = hub.variable("SHARED", org="acme")
    assert shared is not None and shared["value"] == "yes" and shared["visibility"] == "selected"
    assert sorted(shared["selected_repository_ids"]) == sorted(
        hub.repo_id(f"acme/{name}") for name in ("web-app", "web-site"))
    assert hub.variable_value("MODEL", repo="acme/api", app="agents") == "fast"
    assert hub.variable_value("MODEL", repo="acme/api") is None


@pytest.mark.parametrize("args,why", [
    (["GITHUB_X", "--value", "v"], "must not start with GITHUB_"),
    (["OK", "--value", "x" * (48 * 1024 + 1)], "variable value is 49153 bytes"),
    (["OK", "--value", "v", "--value-from", "env:V"], "two ways to give the value"),
    (["OK", "--value", "v", "--app", "dependabot"], "invalid choice"),
])
def test_bad_input_is_refused_before_anything_is_written(hub, monkeypatch, capsys, args,
                                                         why) -> None:
    """A reserved name, a value over 48 KB, two values, an app without variables: exit 2,
    nothing sent."""
    with hub.serve_in_thread() as url:
        with pytest.raises(SystemExit) if why == "invalid choice" else nullcontext():
            assert variable_set(url, monkeypatch, *args) == 2
    assert why in capsys.readouterr().err
    assert writes(hub) == 0
