"""The `syncer` command line: build the parser from the commands, set up logging and signals,
run the chosen command's four parts (see syncer.commands), map what went wrong to an exit code
(see syncer.failures)."""

from __future__ import annotations

import atexit
import os
import secrets
import sys
from collections.abc import Sequence
from typing import NoReturn

import anyio
import structlog

from . import failures
from .commands import Command, Output, Request, Session, load
from .commands.parser import build_parser
from .execution.interrupt import handling_signals
from .exits import Exit
from .observe import logs
from .observe.summary import stop_text


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
