"""`syncer variable set`: the flags → the frozen request (set's, for a variable); its problems."""

from __future__ import annotations

import pytest

from syncer.exits import UsageError
from syncer.sources import Source

from . import refused_by_parser, request


def problems(*argv: str) -> str:
    with pytest.raises(UsageError) as refused:
        request(*argv)
    return str(refused.value)


def test_a_value_on_the_command_line_makes_a_variable_request() -> None:
    """--value TEXT is the variable's value itself (a variable is no secret): kept as given,
    with no source; the request is set's, aimed at variables."""
    write = request("variable", "set", "region", "--org", "acme", "--value", "eu-west-1").write
    assert (write.target, write.name, write.literal, write.source) == (
        "variable", "REGION", "eu-west-1", None)


def test_value_from_works_as_for_secrets() -> None:
    """--value-from reads the value from a source, as `set` does; --app agents and --env are
    kept."""
    write = request("variable", "set", "MODEL", "--org", "acme", "--app", "agents",
                    "--value-from", "file:model.txt").write
    assert (write.target, write.app, write.source, write.literal) == (
        "variable", "agents", Source("file", "model.txt"), None)
    assert request("variable", "set", "STAGE", "--org", "acme", "--env", "production",
                   "--value", "prod").write.env == "production"


def test_every_problem_is_said_of_a_variable() -> None:
    """Problems name variables, not secrets, and are listed together."""
    message = problems("variable", "set", "GITHUB_X", "--org", "acme", "--value", "v",
                       "--value-from", "env:V", "--env", "prod", "--app", "agents")
    assert message == "; ".join([
        "variable name must not start with GITHUB_ (reserved by GitHub)",
        "--value and --value-from are two ways to give the value: choose one",
        "environment variables exist for Actions only",
    ])


def test_no_value_at_all_is_refused_with_both_ways() -> None:
    """Neither --value nor --value-from: the error names both ways to give one."""
    assert problems("variable", "set", "X", "--org", "acme") == (
        "--value-from is required (env:VAR, file:PATH, cmd:COMMAND or -); or --value TEXT")


def test_only_apps_with_variables_are_offered(capsys: pytest.CaptureFixture[str]) -> None:
    """Dependabot and Codespaces have no variables: --app refuses them (exit 2) as it parses."""
    err = refused_by_parser(capsys, "variable", "set", "X", "--org",
                            "acme", "--value", "v", "--app", "dependabot")
    assert "--app: invalid choice: 'dependabot'" in err
