"""`syncer audit`: an inventory with ages, shadowing and limits; CSV for machines."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from helpers import TOKEN, github_env, org_hub, run_cli

from syncer.commands.audit import COLUMNS, Found, audit_rows, inventory, stores_for
from syncer.core.model import Repo, Scope
from syncer.fakehub import FakeHub
from syncer.github import errors
from syncer.github.api import SecretInfo, SecretsAPI, VariableInfo

NOW = datetime.now(UTC)


@pytest.fixture
def hub() -> FakeHub:
    """500 repos: an org secret, repo secrets of known ages, one shadowing, one full repo."""
    hub = org_hub(500)  # limits off: 500 repositories read in full, about the inventory
    hub.set_secret("NPM", b"v", org="acme", visibility="selected",
                   selected=["repo-0001", "repo-0002"], updated_at=NOW - timedelta(days=400))
    hub.set_secret("DEP", b"v", org="acme", app="dependabot", visibility="all")
    for i in range(1, 501):
        hub.set_secret("DSN", b"v", repo=f"acme/repo-{i:04d}",
                       updated_at=NOW - timedelta(days=i % 50))
    hub.set_secret("NPM", b"v", repo="acme/repo-0002")  # shadows the org secret
    hub.set_secret("NPM", b"v", repo="acme/repo-0007")  # same name; the org secret is not
    #                                                     selected for repo-0007: no shadow
    hub.set_secret("TOKEN", b"v", repo="acme/repo-0009", env="production",
                   updated_at=NOW - timedelta(days=90))
    for n in range(99):
        hub.set_secret(f"FILL_{n}", b"v", repo="acme/repo-0100")
    return hub


def audit(url: str, monkeypatch, capsys, *args: str) -> str:
    env = github_env(url)
    code = run_cli(["audit", "--org", "acme", "--points-per-minute", "0", "--concurrency", "32",
                    *args], env, monkeypatch)
    assert code == 0
    captured = capsys.readouterr()
    audit.err = captured.err  # type: ignore[attr-defined]
    return captured.out


def test_csv_lists_every_secret_with_correct_ages(hub, monkeypatch, capsys) -> None:
    """Every secret of the org appears once, with the documented columns and its age in days."""
    with hub.serve_in_thread() as url:
        out = audit(url, monkeypatch, capsys, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0].keys()) == COLUMNS
    assert len(rows) == 2 + 500 + 2 + 1 + 99
    by_place = {(r["app"], r["scope"], r["name"]): r for r in rows}
    assert by_place[("actions", "acme", "NPM")]["age_days"] == "400"
    assert by_place[("actions", "acme", "NPM")]["selected_repos"] == "2"
    assert by_place[("actions", "acme/repo-0123", "DSN")]["age_days"] == str(123 % 50)
    assert by_place[("actions", "acme/repo-0009:production", "TOKEN")]["age_days"] == "90"
    assert by_place[("dependabot", "acme", "DEP")]["visibility"] == "all"
    assert "shadows-org-secret" in by_place[("actions", "acme/repo-0002", "NPM")]["flags"]
    assert "shadows-org-secret" not in by_place[("actions", "acme/repo-0007", "NPM")]["flags"]
    assert "scope-at-limit-100" in by_place[("actions", "acme/repo-0100", "DSN")]["flags"]


def test_filters_and_json(hub, monkeypatch, capsys) -> None:
    """--name and --older-than narrow the inventory; --format json is machine-readable."""
    with hub.serve_in_thread() as url:
        out = audit(url, monkeypatch, capsys, "--format", "json", "--name", "D*",
                    "--older-than", "45", "--repos", "repo-00*")
    rows = json.loads(out)
    assert rows and all(r["name"].startswith("D") and r["age_days"] >= 45 for r in rows)
    assert {r["scope"] for r in rows} <= {f"acme/repo-00{i:02d}" for i in range(100)} | {"acme"}


def test_rerun_is_answered_304(hub, monkeypatch, capsys) -> None:
    """A second audit asks If-None-Match for every listing; all unchanged, all answered 304."""
    with hub.serve_in_thread() as url:
        audit(url, monkeypatch, capsys, "--repos", "repo-000*")
        hub.reset_counters()
        out = audit(url, monkeypatch, capsys, "--repos", "repo-000*", "--log-format", "json")
    assert "NPM" in out
    summary = json.loads([line for line in audit.err.splitlines() if '"summary"' in line][-1])
    assert summary["requests"] == hub.count() > 0
    assert summary["not_modified"] == hub.count()


def test_a_secret_dated_a_little_ahead_of_our_clock_is_zero_days_old() -> None:
    """GitHub's clock may run ahead of ours: a secret written just now is 0 days old, not -1."""
    scope = Scope.of_repo("acme", "api")
    ahead = (NOW + timedelta(minutes=2)).isoformat().replace("+00:00", "Z")
    rows = audit_rows([Found(scope, SecretInfo("X", ahead, ahead))], [Repo("api", 1)], NOW)
    assert rows[0].age_days == 0


@pytest.fixture
def mixed() -> FakeHub:
    """4 repositories holding every kind of secret and variable: org ones, some shadowed by a
    repository's or an environment's of the same name, one repository with 500 variables."""
    hub = FakeHub(tokens=(TOKEN,))
    hub.add_org("acme")
    hub.add_repos("acme", 4, environments=("production",))
    hub.set_variable("REGION", "eu-west-1", org="acme", visibility="selected",
                     selected=["repo-0001"], updated_at=NOW - timedelta(days=30))
    hub.set_variable("REGION", "us-east-1", repo="acme/repo-0001")  # shadows the org variable
    hub.set_variable("REGION", "ap-south-1", repo="acme/repo-0002")  # not selected: no shadow
    hub.set_variable("STAGE", "stage-prod", repo="acme/repo-0001", env="production")
    hub.set_secret("REGION", b"v", repo="acme/repo-0003")  # a secret: the variable is not hidden
    hub.set_variable("MODEL", "model-fast", org="acme", app="agents", visibility="all")
    hub.set_variable("MODEL", "model-slow", repo="acme/repo-0003", app="agents")
    hub.set_secret("AGENT_KEY", b"v", org="acme", app="agents", visibility="all")
    hub.set_secret("AGENT_KEY", b"v", repo="acme/repo-0002", app="agents")
    hub.set_secret("CS_TOKEN", b"v", org="acme", app="codespaces", visibility="all")
    hub.set_secret("CS_ONLY", b"v", repo="acme/repo-0002", app="codespaces")
    hub.set_secret("NPM", b"v", org="acme", visibility="all")
    for n in range(100):  # 100 variables are far from a repository's 500
        hub.set_variable(f"V100_{n}", "x", repo="acme/repo-0003")
    for n in range(500):
        hub.set_variable(f"V500_{n}", "x", repo="acme/repo-0004")
    return hub


def audit_mixed(url: str, monkeypatch, capsys, *args: str, code: int = 0) -> str:
    env = {"GITHUB_API_URL": url, "GITHUB_TOKEN": TOKEN}
    assert run_cli(["audit", "--org", "acme", "--points-per-minute", "0", *args], env,
                   monkeypatch) == code
    captured = capsys.readouterr()
    audit_mixed.err = captured.err  # type: ignore[attr-defined]
    return captured.out


def csv_rows(out: str) -> dict[tuple[str, str, str, str], dict[str, str]]:
    """(type, app, scope, name) → its CSV row."""
    return {(r["type"], r["app"], r["scope"], r["name"]): r
            for r in csv.DictReader(io.StringIO(out))}


def test_every_kind_and_app_has_its_rows(mixed, monkeypatch, capsys) -> None:
    """Actions variables (org, repository, environment), agent variables and secrets (org,
    repository) and Codespaces secrets are listed beside Actions secrets, each row naming its
    app and its type; a variable's value stays out of the inventory unless asked for."""
    with mixed.serve_in_thread() as url:
        out = audit_mixed(url, monkeypatch, capsys, "--format", "csv")
    header = out.splitlines()[0].split(",")
    assert header[:10] == ["app", "kind", "scope", "name", "visibility", "selected_repos",
                           "created_at", "updated_at", "age_days", "flags"]  # as before
    assert header[10:] == ["type", "value"]
    rows = csv_rows(out)
    assert len(rows) == 1 + 1 + 1 + 2 + 2 + 2 + 1 + 1 + 100 + 500 + 1
    for place in [("variable", "actions", "acme", "REGION"),
                  ("variable", "actions", "acme/repo-0001", "REGION"),
                  ("variable", "actions", "acme/repo-0001:production", "STAGE"),
                  ("variable", "agents", "acme", "MODEL"),
                  ("variable", "agents", "acme/repo-0003", "MODEL"),
                  ("secret", "agents", "acme", "AGENT_KEY"),
                  ("secret", "agents", "acme/repo-0002", "AGENT_KEY"),
                  ("secret", "codespaces", "acme", "CS_TOKEN"),
                  ("secret", "codespaces", "acme/repo-0002", "CS_ONLY"),
                  ("secret", "actions", "acme/repo-0003", "REGION")]:
        assert place in rows, place
    org_region = rows[("variable", "actions", "acme", "REGION")]
    assert (org_region["kind"], org_region["visibility"], org_region["selected_repos"],
            org_region["age_days"]) == ("org", "selected", "1", "30")
    assert org_region["created_at"]
    assert all(row["value"] == "" for row in rows.values())
    assert not any(value in out for value in ("eu-west-1", "us-east-1", "stage-prod", "model-fast"))


def test_show_values_and_kind(mixed, monkeypatch, capsys) -> None:
    """--show-values fills a variable's value (in csv, json and the table); --kind variables
    lists variables only, --kind secrets secrets only, and --app narrows to one app."""
    with mixed.serve_in_thread() as url:
        shown = csv_rows(audit_mixed(url, monkeypatch, capsys, "--format", "csv",
                                     "--show-values", "--kind", "variables"))
        as_json = json.loads(audit_mixed(url, monkeypatch, capsys, "--format", "json",
                                         "--show-values", "--app", "agents"))
        table = audit_mixed(url, monkeypatch, capsys, "--show-values", "--name", "STAGE")
        secrets = csv_rows(audit_mixed(url, monkeypatch, capsys, "--format", "csv",
                                       "--kind", "secrets"))
    assert {kind for kind, *_ in shown} == {"variable"}
    assert shown[("variable", "actions", "acme", "REGION")]["value"] == "eu-west-1"
    assert shown[("variable", "actions", "acme/repo-0001:production", "STAGE")]["value"] == "stage-prod"
    assert {(r["type"], r["app"], r["scope"], r["name"], r["value"]) for r in as_json} == {
        ("variable", "agents", "acme", "MODEL", "model-fast"),
        ("variable", "agents", "acme/repo-0003", "MODEL", "model-slow"),
        ("secret", "agents", "acme", "AGENT_KEY", None),
        ("secret", "agents", "acme/repo-0002", "AGENT_KEY", None)}
    header, row, summary = table.splitlines()
    assert header.split()[-2:] == ["type", "value"] and row.split()[-2:] == ["variable", "stage-prod"]
    assert summary == "0 secrets, 1 variables, 0 shadowing an org secret or variable"
    assert {kind for kind, *_ in secrets} == {"secret"}
    assert {app for _, app, *_ in secrets} == {"actions", "agents", "codespaces"}


def test_a_variable_with_no_variables_app_is_refused(monkeypatch, capsys) -> None:
    """--app dependabot --kind variables asks for nothing GitHub has: a one-line usage error
    (exit 2) before any request."""
    hub = FakeHub(tokens=(TOKEN,))
    hub.add_org("acme")
    with hub.serve_in_thread() as url:
        audit_mixed(url, monkeypatch, capsys, "--app", "dependabot", "--kind", "variables",
                    code=2)
    assert "--app dependabot has no variables" in audit_mixed.err  # type: ignore[attr-defined]
    assert hub.count() == 0


def test_variable_flags_shadowing_and_limits(mixed, monkeypatch, capsys) -> None:
    """A repository or agent variable with the name of an org variable its repository sees is
    flagged shadows-org-variable (not one the org variable is not selected for, nor a secret
    of that name); a repository holding 500 variables is at its limit, one with 100 is not."""
    with mixed.serve_in_thread() as url:
        rows = csv_rows(audit_mixed(url, monkeypatch, capsys, "--format", "csv"))
    flags = {place: row["flags"].split(";") for place, row in rows.items()}
    assert "shadows-org-variable" in flags[("variable", "actions", "acme/repo-0001", "REGION")]
    assert "shadows-org-variable" in flags[("variable", "agents", "acme/repo-0003", "MODEL")]
    assert "shadows-org-secret" in flags[("secret", "agents", "acme/repo-0002", "AGENT_KEY")]
    assert flags[("variable", "actions", "acme/repo-0002", "REGION")] == [""]
    assert flags[("secret", "actions", "acme/repo-0003", "REGION")] == [""]
    assert "scope-at-limit-500" in flags[("variable", "actions", "acme/repo-0004", "V500_7")]
    assert flags[("variable", "actions", "acme/repo-0003", "V100_7")] == [""]


def test_variables_are_listed_30_a_page_and_a_rerun_is_answered_304(mixed, monkeypatch,
                                                                     capsys) -> None:
    """500 repository variables take 17 pages of 30; a second audit asks If-None-Match for
    every listing, variables and agent secrets included, and every answer is 304."""
    args = ("--repos", "repo-0004", "--log-format", "json")
    with mixed.serve_in_thread() as url:
        audit_mixed(url, monkeypatch, capsys, *args)
        assert mixed.count("GET", "/repos/{owner}/{repo}/actions/variables") == 17
        mixed.reset_counters()
        audit_mixed(url, monkeypatch, capsys, *args)
    summary = json.loads([line for line in audit_mixed.err.splitlines()
                          if '"summary"' in line][-1])
    # the org's three secrets (repo-0004 holds none); its 500 variables and the org's two
    assert summary["variables"] == 500 + 2 and summary["secrets"] == 3
    assert mixed.count("GET", "/orgs/{org}/agents/variables") == 1
    assert summary["not_modified"] == summary["requests"] == mixed.count() > 17


def test_enterprise_server_without_agents_or_codespaces(mixed, monkeypatch, capsys) -> None:
    """Under /api/v3 (Enterprise Server) there are no agent or Codespaces listings: each is
    passed over with one log line for the org, never tried per repository, and the audit of
    the rest succeeds."""
    with mixed.serve_in_thread() as url:
        rows = csv_rows(audit_mixed(url + "/api/v3", monkeypatch, capsys, "--format", "csv",
                                    "--log-format", "json"))
    assert {(kind, app) for kind, app, *_ in rows} == {("secret", "actions"),
                                                       ("variable", "actions")}
    passed_over = [json.loads(line) for line in audit_mixed.err.splitlines()
                   if '"not_served"' in line]
    assert len(passed_over) == 1
    assert passed_over[0]["listings"] == ("codespaces secrets, agents secrets, "
                                          "agents variables")
    assert mixed.count("GET", "/repos/{owner}/{repo}/agents/secrets") == 0
    assert mixed.count("GET", "/repos/{owner}/{repo}/codespaces/secrets") == 0
    assert not any(line.startswith("unread ") for line in audit_mixed.err.splitlines())


def test_a_token_without_org_admin_still_lists_every_repository(monkeypatch, capsys) -> None:
    """GitHub refuses the org's secrets and variables to a token without org admin: the org is
    named once on stderr (each listing refused, with GitHub's answer), exit 1, and every
    repository's secrets and variables are still listed."""
    hub = FakeHub(tokens=(TOKEN,), non_admin_tokens=("member-token",))
    hub.add_org("acme")
    hub.add_repos("acme", 3, environments=("production",))
    hub.set_secret("NPM", b"v", org="acme", visibility="all")
    hub.set_secret("DSN", b"v", repo="acme/repo-0002")
    hub.set_variable("STAGE", "x", repo="acme/repo-0003", env="production")
    with hub.serve_in_thread() as url:
        code = run_cli(["audit", "--org", "acme", "--points-per-minute", "0", "--format", "csv"],
                       {"GITHUB_API_URL": url, "GITHUB_TOKEN": "member-token"}, monkeypatch)
    out, err = capsys.readouterr()
    assert code == 1
    assert set(csv_rows(out)) == {("secret", "actions", "acme/repo-0002", "DSN"),
                                  ("variable", "actions", "acme/repo-0003:production", "STAGE")}
    unread = [line for line in err.splitlines() if line.startswith("unread ")]
    assert len(unread) == 1 and unread[0].startswith("unread acme: actions secrets could not "
                                                     "be listed (GET /orgs/acme/actions/secrets")
    assert "agents variables could not be listed (GET /orgs/acme/agents/variables" in unread[0]
    assert unread[0].count(": 403 ") == len(stores_for())


class VariablesRefused:
    """The part of SecretsAPI an audit calls: every listing answers one secret, except the
    variables of repository `locked`, refused (403) as for a token without "Variables"."""

    async def secrets(self, scope: Scope) -> list[SecretInfo]:
        return [SecretInfo("S", None, None)]

    async def variables(self, scope: Scope) -> list[VariableInfo]:
        if scope.repo == "locked":
            raise errors.Forbidden(403, "Resource not accessible by personal access token")
        return [VariableInfo("V", "x", None)]

    async def environments(self, org: str, repo: str) -> list[str]:
        return ["production"]


@pytest.mark.anyio
async def test_a_refused_listing_leaves_the_rest_of_its_repository_listed() -> None:
    """Variables GitHub refuses in one repository: that repository is named once as unread
    (saying which listing), and its secrets, its environment's and the other repositories'
    are all still in the inventory."""
    repos = [Repo("locked", 1), Repo("open", 2)]
    found = await inventory(cast(SecretsAPI, VariablesRefused()), "acme", repos, 2)
    places = {(f.scope.repo, f.scope.env, f.scope.app, f.scope.target) for f in found.found}
    assert {(repo, env, app) for repo, env, app, target in places if target == "secret"} >= {
        ("locked", None, "actions"), ("locked", None, "agents"), ("locked", "production", "actions")}
    assert ("open", "production", "actions", "variable") in places
    assert not any(repo == "locked" and target == "variable" for repo, _, _, target in places)
    assert [place for place, _ in found.unreadable] == ["acme/locked"]
    assert found.unreadable[0][1].startswith("actions variables could not be listed (403")
