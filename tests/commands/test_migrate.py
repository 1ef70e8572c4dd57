"""`syncer migrate`: its flags → the frozen request (the migration, the shared connection and
each side's own), and every usage problem at once."""

from __future__ import annotations

import dataclasses

import pytest

from syncer.commands import migrate, options
from syncer.exits import UsageError

from . import parse, refused_by_parser, request


def test_flags_make_a_frozen_request() -> None:
    """The migration's flags land in its request; the Namespace goes no further."""
    made = request("migrate", "--from", "old", "--to", "new", "--repos", "svc-*",
                   "--name", "NPM_*", "--name", "AWS_*", "--values", "v.env", "--dry-run",
                   "--format", "json", "-v", "-q", "--state", "s.json", "--fresh",
                   "--report", "r.json")
    m = made.migration
    assert (m.source, m.dest, m.repos, m.names, m.values, m.dry_run, m.allow_partial) == (
        "old", "new", ("svc-*",), ("NPM_*", "AWS_*"), "v.env", True, False)
    assert (m.format, m.verbose, m.quiet, m.state, m.fresh, m.report) == (
        "json", True, True, "s.json", True, "r.json")
    assert (m.plan_out, m.export_workflow, m.import_sealed) == (None, None, ())
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.migration = m


def test_each_side_has_its_own_connection_over_the_shared_one() -> None:
    """--from-…/--to-… options are kept per side; the shared --api-url and --token-env stay in
    the connection, for a side that gives none of its own."""
    made = request("migrate", "--from", "old", "--to", "new", "--values", "v.env",
                   "--api-url", "https://ghe.example/api/v3", "--token-env", "SHARED",
                   "--to-api-url", "https://api.github.com", "--from-token-env", "OLD_TOKEN",
                   "--to-app-id", "5", "--to-app-key", "file:app.pem")
    assert made.connection.api_url == "https://ghe.example/api/v3"
    assert made.connection.token_env == "SHARED"
    assert made.sides == {
        "from": migrate.Side(None, "OLD_TOKEN", options.AppOptions()),
        "to": migrate.Side("https://api.github.com", None, options.AppOptions(5, "file:app.pem")),
    }


@pytest.mark.parametrize("mode", [("--plan-out", "p.json"), ("--export-workflow", "w.yml"),
                                  ("--import-sealed", "sealed.json")])
def test_a_mode_needs_no_values(mode: tuple[str, str]) -> None:
    """--plan-out, --export-workflow and --import-sealed get the values another way: no
    --values needed."""
    m = request("migrate", "--from", "a", "--to", "b", *mode).migration
    assert (m.plan_out, m.export_workflow, m.import_sealed) == {
        "--plan-out": ("p.json", None, ()), "--export-workflow": (None, "w.yml", ()),
        "--import-sealed": (None, None, ("sealed.json",))}[mode[0]]


def test_values_are_required_to_migrate_secrets() -> None:
    """Without --values (or --allow-partial, --dry-run or a mode) the secrets would have no
    values: refused, saying the ways out."""
    with pytest.raises(UsageError) as refused:
        request("migrate", "--from", "a", "--to", "b")
    assert str(refused.value).startswith("--values FILE is required to migrate secrets")
    assert request("migrate", "--from", "a", "--to", "b", "--allow-partial").migration.allow_partial


def test_values_and_a_mode_are_refused_together() -> None:
    """--values beside a mode that gets the values another way is refused."""
    with pytest.raises(UsageError) as refused:
        request("migrate", "--from", "a", "--to", "b", "--values", "v.env", "--plan-out", "p")
    assert str(refused.value) == "--values cannot be combined with --plan-out"


def test_every_problem_is_listed_together() -> None:
    """Two modes and --values at once: both problems in one line (two modes cannot come from
    the command line, whose parser refuses them first, but can from any other caller)."""
    namespace = parse("migrate", "--from", "a", "--to", "b", "--values", "v.env",
                      "--plan-out", "p")
    namespace.export_workflow = "w.yml"
    with pytest.raises(UsageError) as refused:
        migrate.request_from(namespace)
    assert str(refused.value) == ("--plan-out and --export-workflow cannot be combined; "
                                  "--values cannot be combined with --plan-out")


def test_two_modes_are_refused_as_the_arguments_are_parsed(
        capsys: pytest.CaptureFixture[str]) -> None:
    """The parser refuses two modes at once (exit 2)."""
    err = refused_by_parser(capsys, "migrate", "--from", "a", "--to",
                            "b", "--plan-out", "p", "--export-workflow", "w")
    assert "not allowed with argument" in err
