"""The `syncer` argument parser, made from the commands: each adds its own options
(`add_arguments`), and only the chosen command's module is imported."""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from typing import Any, NoReturn

from .. import __version__
from ..exits import Exit
from . import COMMANDS, load


class Parser(argparse.ArgumentParser):
    """Argument errors in one line (and exit 2), like every other bad input. Options are
    spelled out: with abbreviations `--value X` meant --value-from and `--token T` meant
    --token-env, each then failing in a way that does not say why."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def parse_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                   namespace: argparse.Namespace | None = None) -> argparse.Namespace:
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            self.error(_unrecognized(extras))
        return parsed

    def error(self, message: str) -> NoReturn:
        # what follows an option's "=" (or is glued to a flag) may be a value: not repeated
        message = re.sub(r"(ignored explicit argument) '.*'", r"\1 (not repeated)", message)
        message = re.sub(r"(--[A-Za-z][A-Za-z0-9-]*)=\S+", r"\1=…", message)
        self.exit(int(Exit.USAGE), f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _unrecognized(extras: Sequence[str]) -> str:
    """Unknown options by name; any other word is only counted: it may be a secret value typed
    where a name or a --value-from source was meant, and errors end up in CI logs."""
    options = [word.split("=", 1)[0] for word in extras
               if re.fullmatch(r"--[A-Za-z][A-Za-z0-9-]*|-[A-Za-z]", word.split("=", 1)[0])]
    others = len(extras) - len(options)
    named = ", ".join(options)
    if not others:
        return f"unrecognized arguments: {named}"
    words = f"{others} word{'s' if others > 1 else ''}"
    return (f"unrecognized arguments: {named + ', and ' if named else ''}{words} not repeated "
            "here (a value is never taken from the command line: use --value-from)")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser, with the options of the command `argv` names (only its module is
    imported); without `argv`, of every command (for completion scripts)."""
    parser = Parser(
        prog="syncer", description="Keep GitHub Actions secrets and variables (and Dependabot, "
        "Codespaces and agent secrets) in sync across whole organisations.")
    parser.add_argument("--version", action="version", version=f"syncer {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = None if argv is None else next((w for w in argv if not w.startswith("-")), "")
    for name, entry in COMMANDS.items():
        command_parser = sub.add_parser(name, help=entry.help)
        if chosen is None or name == chosen:
            load(name).add_arguments(command_parser)
        if name == "demo":  # listed where it always was
            sub.add_parser("fakehub", add_help=False,
                           help="run a local fake GitHub (see syncer fakehub --help)")
    return parser
