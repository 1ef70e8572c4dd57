"""`syncer completion SHELL`: the shell → the request; report prints the script."""

from __future__ import annotations

import pytest

from syncer.commands import completion

from . import Printed, refused_by_parser, request


@pytest.mark.parametrize("shell", completion.SHELLS)
def test_the_shell_makes_the_request(shell: str) -> None:
    """bash, zsh and fish each make a request for their script."""
    assert request("completion", shell) == completion.ScriptRequest(shell)


def test_an_unknown_shell_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """A shell without a script is refused as the arguments are parsed (exit 2)."""
    assert "invalid choice: 'tcsh'" in refused_by_parser(capsys, "completion", "tcsh")


def test_report_prints_the_script_as_it_is_and_exits_0() -> None:
    """The script run made goes to stdout unchanged, nothing to stderr."""
    printed = Printed()
    script = "complete -c syncer -f\n"
    assert completion.report(completion.ScriptRequest("fish"), script, printed.output) == 0
    assert (printed.out, printed.err) == (script, "")
