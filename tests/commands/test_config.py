"""`syncer config schema|check`: the action → the request; report prints what run made."""

from __future__ import annotations

import pytest

from syncer.commands import config

from . import Printed, refused_by_parser, request


def test_the_action_makes_the_request() -> None:
    """`config schema` takes no file; `config check -c FILE` names the file to check."""
    assert request("config", "schema") == config.ConfigRequest("schema", None)
    assert request("config", "check", "-c", "s.toml") == config.ConfigRequest("check", "s.toml")


def test_check_needs_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    """`config check` without -c is refused as the arguments are parsed (exit 2)."""
    assert "-c/--config" in refused_by_parser(capsys, "config", "check")


def test_report_prints_the_result_as_it_is_and_exits_0() -> None:
    """The schema or the check's line goes to stdout unchanged; a bad config never reaches
    report (its ConfigError is exit 2 in the dispatcher)."""
    printed = Printed()
    line = "s.toml: ok (1 secret)\n"
    assert config.report(config.ConfigRequest("check", "s.toml"), line, printed.output) == 0
    assert (printed.out, printed.err) == (line, "")
