"""The `syncer` command line: build the parser from the commands, set up logging and signals,
run the chosen command's four parts (see syncer.commands), map what went wrong to an exit code
(see syncer.failures)."""

from __future__ import annotations

import argparse
import atexit
import os
import re
import secrets
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import anyio
import structlog

from . import __version__, failures
from .commands import COMMANDS, Command, Output, Request, Session, load
from .execution.interrupt import handling_signals
from .exits import Exit
from .observe import logs
from .observe.summary import stop_text


class _Parser(argparse.ArgumentParser):
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
    parser = _Parser(
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


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["fakehub"]:
        from .fakehub.cli import main as fakehub_main

        return fakehub_main(argv[1:])
    namespace = build_parser(argv).parse_args(argv)
    command = load(namespace.command)
    structlog.contextvars.bind_contextvars(run_id=secrets.token_hex(6), command=namespace.command)
    logs.configure(namespace.log_format,
                   namespace.log_level or ("warning" if sys.stderr.isatty() else "info"))
    show_progress = False if namespace.quiet else None
    stopped = _StoppedAfterWriting()
    try:
        request = command.request_from(namespace)
        return int(anyio.run(_run, command, request, show_progress, stopped))
    except (Exception, KeyboardInterrupt) as exc:
        failure = failures.explain(exc, stopped.account)
        if failure is None:
            raise
        print(f"syncer: error: {failure.message}", file=sys.stderr)
        return int(failure.code)


class _StoppedAfterWriting:
    """How far a run got that stopped on an error after writing began, for its error line."""

    account: str | None = None


async def _run(command: Command, request: Request, show_progress: bool | None,
               stopped: _StoppedAfterWriting) -> int:
    """Run and report the command; on SIGINT/SIGTERM let in-flight writes finish, then say how
    to resume. A run that stops on its own after writing began (a rejected token, a spent
    budget with --no-wait, GitHub out of reach) gives the same account of how far it got."""
    code: int = Exit.INTERRUPTED
    with anyio.CancelScope() as everything, handling_signals(everything.cancel) as stop:
        try:
            result = await command.run(request, Session(stop, show_progress))
        except Exception:
            if stop.writing_began and not stop.finished:
                stopped.account = f"{stop.account()}, {request.how_to_resume}"
            raise
        code = command.report(request, result, Output(sys.stdout, sys.stderr))
    if stop.signum is None:
        if stop.stopped_by and stop.writing_began and not stop.finished:
            print(f"syncer: stopped ({stop_text(stop.stopped_by)}): {stop.account()}, "
                  f"{request.how_to_resume}", file=sys.stderr)
        return code
    if stop.finished:  # a signal after the last write changes nothing
        return code
    if not stop.writing_began:
        # a read-only command (plan, audit), or apply stopped while still reading GitHub
        print("syncer: interrupted before anything was written", file=sys.stderr)
    else:
        print(f"syncer: interrupted: {stop.account()}, {request.how_to_resume}", file=sys.stderr)
    return int(failures.for_signal(stop.signum))


def entry() -> NoReturn:
    """The `syncer` command: main(), then an exit without Python's teardown.

    Freeing every module and object of a finished run took ~30-40 ms here, a tenth of a short
    run. Nothing syncer writes needs it: state, journal and logs are closed and flushed by the
    time main returns, and exit handlers still run. An error main lets escape ends as usual.
    """
    sys.stdout, sys.stderr = (None if s is None else logs.Forgiving(s)  # None: started closed
                              for s in (sys.stdout, sys.stderr))
    try:
        code = main()
    except KeyboardInterrupt as exc:  # before or after the run's own handling (parsing, say)
        failure = failures.explain(exc)
        assert failure is not None
        print(f"syncer: error: {failure.message}", file=sys.stderr)
        code = int(failure.code)
    atexit._run_exitfuncs()
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        sys.exit(code)  # Python reports the unwritable stream as it always does
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
