"""The commands: one module each, the user's job as the unit of the code.

Every command module has the same four parts, which `syncer.cli` calls in order:

    add_arguments(parser)           its own options, on the subparser the dispatcher made
    request_from(namespace)         pure: a frozen Request, or a UsageError listing every
                                    problem; the argparse Namespace goes no further
    async run(request, session)     all the I/O; returns the command's result value
    report(request, result, output) the account of the run (and --report); returns the exit
                                    code

What a run shows while it goes stays in run, where its moment is: the live progress line, a
plan shown before its first write, a dry run's targets org by org, a generated value's file
named before the first write.

Commands are imported only when chosen, so `syncer set` does not load migrate.
"""

from __future__ import annotations

import argparse
import importlib
from dataclasses import dataclass
from typing import Any, Protocol, TextIO

from ..execution.interrupt import Interrupt


@dataclass(frozen=True)
class Request:
    """What every command's request can answer, beside its own fields."""

    @property
    def how_to_resume(self) -> str:
        """Said after a stop once writing began."""
        return "resume with the same command"


@dataclass(frozen=True)
class Session:
    """What the dispatcher hands a command's run: control, passed rather than ambient."""

    stop: Interrupt  # set by SIGINT/SIGTERM; the engine stops admitting writes
    show_progress: bool | None  # None: a live line when stderr is a terminal


@dataclass(frozen=True)
class Output:
    stdout: TextIO
    stderr: TextIO


class Command(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def request_from(self, namespace: argparse.Namespace) -> Request: ...

    async def run(self, request: Any, session: Session) -> Any: ...

    def report(self, request: Any, result: Any, output: Output) -> int: ...


@dataclass(frozen=True)
class Entry:
    module: str
    help: str


#: Each command's module and one-line help, in the order `syncer --help` lists them.
COMMANDS: dict[str, Entry] = {
    "set": Entry("set", "set one secret across an org"),
    "variable": Entry("variable", "Actions and agent variables (see syncer variable set --help)"),
    "rotate": Entry("rotate", "write a new value everywhere a secret already lives"),
    "audit": Entry("audit", "inventory of every secret and variable in an org, with ages and "
                   "shadowing"),
    "migrate": Entry("migrate", "copy an org's secrets (names, scopes, visibility) to another org"),
    "plan": Entry("plan", "show what apply would change (never writes)"),
    "apply": Entry("apply", "make GitHub match the config; write only what differs"),
    "demo": Entry("demo", "a self-contained demo against a local fakehub"),
    "config": Entry("config", "the config file: its JSON Schema, or a check of one file"),
    "completion": Entry("completion", "print a shell completion script"),
}


def load(name: str) -> Command:
    module: Command = importlib.import_module(f"{__name__}.{COMMANDS[name].module}")
    return module
