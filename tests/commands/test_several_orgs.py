"""Several orgs in one run: --org repeated, and --all-orgs (a token's user's orgs, or a GitHub
App's installations), end to end against fakehub."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from helpers import APP_ID, TOKEN, Keys, app_hub, run_cli

from syncer.fakehub import FakeHub, Limits

OLD, NEW = b"old-value", "new-value-9f2"
ORGS = ("alpha", "beta", "gamma")


@pytest.fixture
def hub() -> FakeHub:
    """Three orgs of 4 repositories; LEAKED lives in each as an org secret, in two repository
    secrets, and (alpha) as a Dependabot org secret."""
    # limits off: these runs are about which orgs are reached, not pacing (an Enterprise
    # Server without limits)
    hub = FakeHub(tokens=(TOKEN,), limits=Limits.off())
    for org in ORGS:
        hub.add_repos(org, 4, environments=())
        hub.set_secret("LEAKED", OLD, org=org, visibility="all")
        for repo in ("repo-0001", "repo-0003"):
            hub.set_secret("LEAKED", OLD, repo=f"{org}/{repo}")
    hub.set_secret("LEAKED", OLD, org="alpha", app="dependabot", visibility="private")
    return hub


def cli(url: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    return run_cli([*args, "--quiet"], {"GITHUB_API_URL": url, "GITHUB_TOKEN": TOKEN,
                                        "NEW": NEW}, monkeypatch)


def holds_new(hub: FakeHub, org: str) -> bool:
    return (hub.plaintext("LEAKED", org=org) == NEW.encode()
            and all(hub.plaintext("LEAKED", repo=f"{org}/{r}") == NEW.encode()
                    for r in ("repo-0001", "repo-0003")))


def test_rotate_in_two_orgs_rewrites_both_and_lists_both(hub, monkeypatch, capsys) -> None:
    """`--org alpha --org beta` rotates the name in both orgs (every kind of secret, the
    Dependabot org secret included) and the proof lists each place; gamma is untouched."""
    with hub.serve_in_thread() as url:
        assert cli(url, monkeypatch, "rotate", "LEAKED", "--org", "alpha", "--org", "beta",
                   "--value-from", "env:NEW") == 0
    assert holds_new(hub, "alpha") and holds_new(hub, "beta")
    assert hub.plaintext("LEAKED", org="alpha", app="dependabot") == NEW.encode()
    assert hub.plaintext("LEAKED", org="gamma") == OLD
    out = capsys.readouterr().out
    assert out.count("updated  LEAKED in ") == 7
    for place in ("alpha (org secret", "alpha (dependabot) (org secret", "beta (org secret",
                  "alpha/repo-0003", "beta/repo-0001"):
        assert f"updated  LEAKED in {place}" in out


def test_a_repeated_org_is_one_org(hub, monkeypatch, capsys) -> None:
    """`--org alpha --org ALPHA` (GitHub's names are case-insensitive) writes each place once."""
    with hub.serve_in_thread() as url:
        assert cli(url, monkeypatch, "rotate", "LEAKED", "--org", "alpha", "--org", "ALPHA",
                   "--value-from", "env:NEW", "--app", "actions") == 0
    assert capsys.readouterr().out.count("updated  LEAKED in ") == 3


def test_all_orgs_reaches_every_org_the_token_sees(hub, monkeypatch, capsys) -> None:
    """--all-orgs asks GitHub which orgs the token's user belongs to (GET /user/orgs)."""
    with hub.serve_in_thread() as url:
        assert cli(url, monkeypatch, "rotate", "LEAKED", "--all-orgs", "--value-from",
                   "env:NEW") == 0
    assert all(holds_new(hub, org) for org in ORGS)


def test_audit_of_every_org_has_a_row_per_secret_of_every_org(hub, monkeypatch, capsys) -> None:
    """`audit --all-orgs --format csv`: one row per secret of every org, each scope named."""
    with hub.serve_in_thread() as url:
        assert cli(url, monkeypatch, "audit", "--all-orgs", "--format", "csv") == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 3 * 3 + 1
    assert {row["scope"] for row in rows if row["kind"] == "org"} == set(ORGS)
    assert {row["scope"] for row in rows if row["kind"] == "repo"} == {
        f"{org}/{repo}" for org in ORGS for repo in ("repo-0001", "repo-0003")}


def test_set_in_two_orgs_writes_every_repository_of_both(hub, monkeypatch) -> None:
    """`set --org alpha --org beta` writes every repository of both, in one run."""
    with hub.serve_in_thread() as url:
        assert cli(url, monkeypatch, "set", "FRESH", "--org", "alpha", "--org", "beta",
                   "--value-from", "env:NEW") == 0
    for org in ("alpha", "beta"):
        assert all(hub.plaintext("FRESH", repo=f"{org}/repo-{i:04d}") == NEW.encode()
                   for i in range(1, 5))
    assert hub.plaintext("FRESH", repo="gamma/repo-0001") is None


def test_a_github_app_reaches_every_org_it_is_installed_on(keys: Keys, tmp_path: Path,
                                                           monkeypatch) -> None:
    """With a GitHub App, --all-orgs means its installations, each org written with its own
    installation token."""
    hub = app_hub(keys, *ORGS)
    key_file = tmp_path / "app.pem"
    key_file.write_text(keys.private_pem)
    key_file.chmod(0o600)
    with hub.serve_in_thread() as url:
        code = run_cli(["set", "FROM_APP", "--all-orgs", "--value-from", "env:NEW", "--app-id",
                        str(APP_ID), "--app-key", f"file:{key_file}", "--quiet"],
                       {"GITHUB_API_URL": url, "NEW": NEW}, monkeypatch)
    assert code == 0
    for org in ORGS:
        assert all(hub.plaintext("FROM_APP", repo=f"{org}/repo-{i:04d}") == NEW.encode()
                   for i in range(1, 4))
