"""Unit tests of each command's parts without a server (one file per command): the flags a user
types → the frozen request (`request_from`), and a result → what is printed and the exit code
(`report`).

A package, so that its modules (commands.test_set, …) may share names with the end-to-end
tests beside it; tests/ stays on sys.path, so `from helpers import ...` works as before.
"""

from __future__ import annotations

import argparse
import io
from dataclasses import dataclass, field
from typing import Any

import pytest

from syncer import cli
from syncer.commands import Output, load
from syncer.core.model import Action, Op, Outcome, Result, Scope
from syncer.observe.summary import Summary, summarize


def parse(*argv: str) -> argparse.Namespace:
    """What `syncer ARGV` parses to, with the parser the dispatcher builds for that command."""
    return cli.build_parser(list(argv)).parse_args(list(argv))


def refused_by_parser(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """What argparse printed refusing `argv` (it exits 2 before any request is made)."""
    with pytest.raises(SystemExit) as refused:
        parse(*argv)
    assert refused.value.code == 2
    return capsys.readouterr().err


def request(*argv: str) -> Any:
    """The request `syncer ARGV` makes: parsed, then given to its command's request_from."""
    namespace = parse(*argv)
    return load(namespace.command).request_from(namespace)


@dataclass
class Printed:
    """An Output whose two streams are kept, for a report to print to."""

    stdout: io.StringIO = field(default_factory=io.StringIO)
    stderr: io.StringIO = field(default_factory=io.StringIO)

    @property
    def output(self) -> Output:
        return Output(self.stdout, self.stderr)

    @property
    def out(self) -> str:
        return self.stdout.getvalue()

    @property
    def err(self) -> str:
        return self.stderr.getvalue()


def outcome(scope: Scope, name: str, result: Result = Result.CREATED, error: str | None = None
            ) -> Outcome:
    return Outcome(Action(Op.PUT, scope, name), result, 201, error=error)


def summary_of(*outcomes: Outcome) -> Summary:
    """The summary a run with these outcomes ends with."""
    return summarize(outcomes, requests=len(outcomes), retries=0, waits=0, wait_seconds=0.0,
                     seconds=0.5)
