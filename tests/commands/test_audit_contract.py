"""`syncer audit`: its flags → the frozen request (which listings to read); its report: the
inventory on stdout, unread repositories on stderr, exit 1 when any."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from syncer.commands import audit, options
from syncer.exits import UsageError

from . import Printed, request


def test_flags_make_a_frozen_request() -> None:
    """Every flag lands in its field; --app and --kind choose the listings read."""
    made = request("audit", "--org", "acme", "--org", "Acme", "--org", "ops", "--repos", "svc-*",
                   "--name", "NPM_*", "--older-than", "90", "--app", "agents",
                   "--kind", "variables", "--show-values", "--format", "csv",
                   "--report", "r.json")
    assert made == audit.AuditRequest(
        orgs=("acme", "ops"), all_orgs=False, stores=(("agents", "variable"),),
        repos=("svc-*",), name="NPM_*", older_than=90, show_values=True, format="csv",
        connection=options.Connection(), app=options.AppOptions(), report="r.json")
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.format = "json"


def test_by_default_every_listing_is_read() -> None:
    """Without --app or --kind: every app's secrets, and the variables of the apps that have
    them (Actions and agents); a table for people."""
    made = request("audit", "--all-orgs")
    assert (made.orgs, made.all_orgs, made.format, made.show_values) == ((), True, "table", False)
    assert set(made.stores) == {("actions", "secret"), ("dependabot", "secret"),
                                ("codespaces", "secret"), ("agents", "secret"),
                                ("actions", "variable"), ("agents", "variable")}


def test_kind_secrets_reads_no_variables() -> None:
    """--kind secrets with --app dependabot reads one listing per scope."""
    assert request("audit", "--org", "acme", "--app", "dependabot",
                   "--kind", "secrets").stores == (("dependabot", "secret"),)


def test_variables_of_an_app_without_them_are_refused() -> None:
    """Dependabot has no variables: asking for them is a usage error, not an empty audit."""
    with pytest.raises(UsageError) as refused:
        request("audit", "--org", "acme", "--app", "dependabot", "--kind", "variables")
    assert str(refused.value) == "--app dependabot has no variables (only actions, agents have them)"


def row(name: str, type: str = "secret", value: str | None = None) -> audit.Row:
    """A repository's secret or variable, as the inventory judged it."""
    return audit.Row("actions", "repo", "acme/api", name, "", None, "2026-01-01T00:00:00Z",
                     "2026-01-02T00:00:00Z", 3, (), type, value)


def test_report_prints_the_inventory_and_exits_0() -> None:
    """Every row in the format asked for on stdout, nothing on stderr, exit 0."""
    made = request("audit", "--org", "acme", "--format", "json")
    rows = [row("NPM_TOKEN"), row("REGION", type="variable", value="eu")]
    printed = Printed()
    code = audit.report(made, audit.AuditResult(rows, [], 1, 5, 0), printed.output)
    assert code == 0
    assert [(r["name"], r["type"], r["value"]) for r in json.loads(printed.out)] == [
        ("NPM_TOKEN", "secret", None), ("REGION", "variable", "eu")]
    assert printed.err == ""


def test_report_table_ends_with_counts() -> None:
    """The table for people ends with how many secrets and variables it lists."""
    made = request("audit", "--org", "acme")
    printed = Printed()
    audit.report(made, audit.AuditResult([row("A"), row("B"), row("V", type="variable")], [], 1,
                                         3, 0), printed.output)
    assert printed.out.splitlines()[-1] == (
        "2 secrets, 1 variables, 0 shadowing an org secret or variable")


def test_an_unread_repository_exits_1(tmp_path: Path) -> None:
    """A repository GitHub would not show is said on stderr with why, and the audit exits 1
    (an inventory with a hole in it); the --report lists it as unread with the same code."""
    made = request("audit", "--org", "acme", "--report", str(tmp_path / "run.json"))
    printed = Printed()
    code = audit.report(made, audit.AuditResult([row("A")], [("acme/web", "403 Forbidden")], 1,
                                                4, 0), printed.output)
    assert code == 1
    assert printed.err == "unread acme/web: 403 Forbidden\n"
    written = json.loads((tmp_path / "run.json").read_text())
    assert (written["command"], written["exit_code"], written["counts"]["unread"],
            written["counts"]["secrets"]) == ("audit", 1, 1, 1)
