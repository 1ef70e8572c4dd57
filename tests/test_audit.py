"""`syncer audit`: an inventory with ages, shadowing and limits; CSV for machines."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from helpers import TOKEN, run_cli

from syncer.commands.audit import COLUMNS, Found, audit_rows
from syncer.fakehub import FakeHub, Limits
from syncer.github.api import Repo, SecretInfo
from syncer.model import Scope

NOW = datetime.now(UTC)


@pytest.fixture
def hub() -> FakeHub:
    """500 repos: an org secret, repo secrets of known ages, one shadowing, one full repo."""
    # limits off: 500 repositories read in full; this is about the inventory, not pacing
    hub = FakeHub(tokens=(TOKEN,), limits=Limits.off())
    hub.add_org("acme")
    hub.add_repos("acme", 500, environments=("production",))
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
    env = {"GITHUB_API_URL": url, "GITHUB_TOKEN": TOKEN}
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
