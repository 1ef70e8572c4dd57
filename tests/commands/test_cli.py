"""The dispatcher and the command contract: every command has its four parts, makes a frozen
request, and only the chosen command's module is imported to parse its arguments."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import subprocess
import sys

import pytest

from syncer import cli
from syncer.commands import COMMANDS, Request, load

from . import parse, request

#: The shortest arguments each command accepts (a new command is added here: the test below
#: says so).
SMALLEST = {
    "set": ("set", "X", "--org", "acme", "--dry-run"),
    "variable": ("variable", "set", "X", "--org", "acme", "--value", "v"),
    "rotate": ("rotate", "X", "--org", "acme", "--dry-run"),
    "audit": ("audit", "--org", "acme"),
    "migrate": ("migrate", "--from", "a", "--to", "b", "--dry-run"),
    "plan": ("plan", "-c", "s.toml"),
    "apply": ("apply", "-c", "s.toml"),
    "demo": ("demo",),
    "config": ("config", "schema"),
    "completion": ("completion", "bash"),
}


def positional(function: object) -> int:
    """How many arguments `function` takes by position (the dispatcher passes them so)."""
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
               for p in inspect.signature(function).parameters.values())


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_the_four_parts(name: str) -> None:
    """Each command module has add_arguments(parser), request_from(namespace), an async
    run(request, session) and report(request, result, output), as the dispatcher calls them."""
    command = load(name)
    assert {part: positional(getattr(command, part))
            for part in ("add_arguments", "request_from", "run", "report")} == {
        "add_arguments": 1, "request_from": 1, "run": 2, "report": 3}
    assert inspect.iscoroutinefunction(command.run)
    assert not inspect.iscoroutinefunction(command.report)


def test_every_command_is_in_the_table_below() -> None:
    """A new command gets its smallest arguments listed here, so the tests below cover it."""
    assert set(SMALLEST) == set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_request_is_frozen(name: str) -> None:
    """request_from returns a frozen Request (what a command's run and report read cannot
    change between them), and no argparse Namespace inside it."""
    made = request(*SMALLEST[name])
    assert isinstance(made, Request)
    assert dataclasses.is_dataclass(made) and type(made).__dataclass_params__.frozen
    assert not any(isinstance(getattr(made, f.name), type(parse(*SMALLEST[name])))
                   for f in dataclasses.fields(made))


def commands_of(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subparsers of `syncer`, by command name, in the order --help lists them."""
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_the_parser_lists_every_command_in_order() -> None:
    """`syncer --help` lists the commands in the table's order, fakehub after demo."""
    expected = [n for name in COMMANDS for n in ((name, "fakehub") if name == "demo" else (name,))]
    assert list(commands_of(cli.build_parser())) == expected


def test_only_the_chosen_command_gets_its_options() -> None:
    """The parser built for `set` gives set its options and leaves the other commands bare (their
    modules are not imported); built for no command (completion scripts), every one has them."""
    for_set = commands_of(cli.build_parser(["set"]))
    assert {"name", "org", "value_from"} <= {a.dest for a in for_set["set"]._actions}
    assert {a.dest for a in for_set["rotate"]._actions} == {"help"}
    everything = commands_of(cli.build_parser())
    assert {"name", "generate"} <= {a.dest for a in everything["rotate"]._actions}


# --- what `syncer CMD --help` imports, in a fresh interpreter -------------------------------

IMPORTED_BY_HELP = """
import sys
from syncer import cli
try:
    cli.main(sys.argv[1:])
except SystemExit:
    pass
print(" ".join(sorted(m for m in sys.modules if m.startswith("syncer"))), file=sys.stderr)
"""

#: What a command's module imports of the other command modules (their shared parts).
SHARES = {"variable": {"set"}}


def modules_imported(*argv: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", IMPORTED_BY_HELP, *argv], capture_output=True,
                          text=True, timeout=60, check=True)
    return set(done.stderr.split())


@pytest.mark.parametrize("name", COMMANDS)
def test_help_of_a_command_imports_no_other_command(name: str) -> None:
    """`syncer CMD --help` imports CMD's module and no other command's (start-up stays fast);
    the migrate package is imported only when a migration runs, fakehub only by the demo."""
    imported = modules_imported(name, "--help")
    commands = {f"syncer.commands.{entry.module}" for entry in COMMANDS.values()}
    assert imported & commands == {f"syncer.commands.{COMMANDS[n].module}"
                                   for n in {name} | SHARES.get(name, set())}
    assert not any(m == "syncer.migrate" or m.startswith("syncer.migrate.") for m in imported)
    if name != "demo":
        assert "syncer.fakehub" not in imported


def test_help_of_syncer_imports_no_command() -> None:
    """`syncer --help` lists the commands without importing any of them."""
    imported = modules_imported("--help")
    assert "syncer.cli" in imported
    assert not any(f"syncer.commands.{entry.module}" in imported for entry in COMMANDS.values())
