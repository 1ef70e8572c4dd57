"""Where secret values come from: env:VAR, file:PATH, - (stdin), cmd:COMMAND, generate:N.

A value is never taken from the command line itself, where every user of the machine could
read it in the process list. Errors name the source, never the value.
"""

from __future__ import annotations

import os
import re
import secrets
import selectors
import shlex
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

import structlog

from .core.model import SecretValue
from .core.names import MAX_VALUE_BYTES, env_name_problem, env_name_shown, value_problem

log = structlog.get_logger("syncer.sources")

KINDS = ("env", "file", "cmd", "generate")
# Enough to tell a value too large for GitHub after one line end (LF or CRLF) is dropped; a
# source with no end (file:/dev/zero, `yes |`) is never read further.
_READ_LIMIT = MAX_VALUE_BYTES + 2
_CMD_TIMEOUT_S = 60
SYNTAX = "env:VAR, file:PATH, cmd:COMMAND, generate:N or - (standard input)"
# where a generated value would be written without being kept (set, rotate's --value-from)
KEPT_SYNTAX = "env:VAR, file:PATH, cmd:COMMAND or - (standard input)"


class SourceError(ValueError):
    """A value source that is malformed, or cannot be read."""


@dataclass(frozen=True, slots=True)
class Source:
    kind: str  # env | file | cmd | generate | stdin
    arg: str = ""

    def __str__(self) -> str:
        if self.kind == "cmd":  # its arguments may hold a token (`vault ... -token=...`)
            program = self.arg.split(maxsplit=1)
            if not program or "=" in program[0]:  # VAULT_TOKEN=... vault read: not shown
                return "cmd:…"
            return f"cmd:{program[0]} …" if len(program) > 1 else f"cmd:{self.arg}"
        return "-" if self.kind == "stdin" else f"{self.kind}:{self.arg}"


def parse_source(spec: str, syntax: str = SYNTAX) -> Source:
    """The source `spec` names, or SourceError explaining the expected `syntax`."""
    if spec == "-":
        return Source("stdin")
    kind, sep, arg = spec.partition(":")
    if not sep or kind not in KINDS or not arg:
        # Not echoed: what was typed here may be the secret itself.
        raise SourceError(f"the value source must be one of {syntax}")
    if kind == "env" and (problem := env_name_problem(arg)):
        raise SourceError(f"env:…: {problem}")
    if kind == "generate" and not (arg.isdigit() and 16 <= int(arg) <= 4096):
        raise SourceError(f"generate:{arg}: N must be a whole number of bytes from 16 to 4096")
    if kind == "cmd":
        argv = _split(arg)
        if not argv:
            raise SourceError("cmd: empty command")
        if problem := shell_syntax_problem(argv):
            raise SourceError(f"{Source(kind, arg)}: {problem}")
    return Source(kind, arg)


_SHELL_OPERATORS = frozenset({"|", "||", "&&", ";", "&", "|&"})
_SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "fish"})
# a redirection, alone or with its target attached: >out, 2>/dev/null, <in, &>log, 2>&1
_REDIRECTION = re.compile(r"^(?:\d?>>?|&>>?|<)")
# what a shell would have expanded, as a whole argument: $VAR, ${VAR}, NAME=$VAR or
# --option=$VAR, or the start of a command substitution: $(… or `… (a $ inside a jq filter, a
# backtick inside a JMESPath query, are the program's own syntax)
_EXPANSION = re.compile(r"^(?:(?:--?[\w-]+|\w+)=)?\$\{?[A-Za-z_]\w*\}?$|^\$\(|^`")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_SHELL_COMMAND_OPTION = re.compile(r"^-[A-Za-z]*c[A-Za-z]*$")  # -c, -ec, -euc ...
_USE_A_SHELL = "for a pipeline, a redirection or a $VARIABLE use cmd:sh -c '…'"


def shell_syntax_problem(argv: list[str]) -> str | None:
    """Why a cmd: command looks written for a shell it will not get, or None: `… | jq` or `$HOME`
    would reach the program as literal arguments and make a wrong value, written everywhere.
    The offending arguments are not repeated (they may hold a token). Pure."""
    if _ASSIGNMENT.match(argv[0]):
        return ("an environment assignment (NAME=value) would be taken for the program's name "
                f"(cmd: runs without a shell); {_USE_A_SHELL}")
    words, expandable = argv[1:], argv[1:]
    if (script := _shell_script(argv)) is not None:
        shell, after = script
        # the shell parses its script itself; what follows the script is its $0, $1, ...
        words, expandable = argv[1:shell] + argv[after:], argv[1:shell]
    operators = [a for a in words if a in _SHELL_OPERATORS]
    if operators:
        found = f"`{operators[0]}`"
    elif any(_REDIRECTION.match(a) for a in words):
        found = "a redirection (>, <)"
    elif any(_EXPANSION.match(a) for a in expandable):
        found = "a $ or ` expansion"
    else:
        return None
    return (f"{found} would reach the program as a literal argument (cmd: runs without a "
            f"shell); {_USE_A_SHELL}")


def _shell_script(argv: list[str]) -> tuple[int, int] | None:
    """Where a shell given `-c SCRIPT` stands (`sh -c`, `timeout 9 bash -ec`), and the index
    just past its script; None when there is none."""
    for at, word in enumerate(argv):
        if os.path.basename(word) not in _SHELLS:
            continue
        option = at + 1
        while option < len(argv) and argv[option].startswith("-"):
            if _SHELL_COMMAND_OPTION.match(argv[option]):
                return at, option + 2
            option += 1
    return None


def read_source(source: Source, *, environ: Mapping[str, str] | None = None,
                stdin: BinaryIO | None = None) -> SecretValue:
    """The value behind `source`, checked against GitHub's size rules."""
    raw = _read(source, os.environ if environ is None else environ, stdin)
    if len(raw) > MAX_VALUE_BYTES:
        raise SourceError(f"{source}: secret value is over {MAX_VALUE_BYTES} bytes; GitHub allows "
                          f"at most {MAX_VALUE_BYTES}")
    problem = value_problem(raw)
    if problem:
        raise SourceError(f"{source}: {problem}")
    return SecretValue(raw)


def generate(n_bytes: int) -> SecretValue:
    """A random value from `n_bytes` random bytes, URL-safe base64 without padding."""
    return SecretValue(secrets.token_urlsafe(n_bytes).encode("ascii"))


def _read(source: Source, environ: Mapping[str, str], stdin: BinaryIO | None) -> bytes:
    if source.kind == "env":
        if source.arg not in environ and env_name_shown(source.arg):
            raise SourceError(f"env:{source.arg}: no such environment variable")
        if source.arg not in environ:
            # Not named: with env:$VAR the shell put a value where the name belongs.
            raise SourceError("env:…: no such environment variable (its name is not repeated, "
                              "in case a value was typed in its place)")
        return environ[source.arg].encode()
    if source.kind == "file":
        try:
            with open(os.path.expanduser(source.arg), "rb") as f:
                warn_if_readable_by_others(f.fileno(), f"file:{source.arg}")
                return f.read(_READ_LIMIT)
        except OSError as exc:
            raise SourceError(f"file:{source.arg}: {exc.strerror or exc}") from None
    if source.kind == "stdin":
        stream = stdin if stdin is not None else sys.stdin.buffer
        if stream.isatty():
            raise SourceError("-: standard input is a terminal; pipe the value in")
        # `echo "$V" | syncer ...` ends a one-line value with a newline nobody meant; a key
        # file's final newline belongs to it (OpenSSH refuses a key without one)
        data = stream.read(_READ_LIMIT)
        if data.count(b"\n") != 1 or not data.endswith(b"\n"):
            return data
        return data[:-2] if data.endswith(b"\r\n") else data[:-1]  # a Windows line end too
    if source.kind == "generate":
        return generate(int(source.arg)).reveal()
    return _run(source.arg)


def warn_if_readable_by_others(fd: int, shown: str) -> None:
    """A regular file of secrets (values, an App's key) that other users may read is worth a
    warning (not a refusal: it may sit in a private directory)."""
    mode = os.fstat(fd).st_mode
    if os.name == "posix" and stat.S_ISREG(mode) and mode & (stat.S_IRGRP | stat.S_IROTH):
        log.warning("secret_file_readable_by_others", file=shown,
                    mode=f"{stat.S_IMODE(mode):04o}",
                    hint="other users of this machine may read it: chmod 600")


class Stopped(KeyboardInterrupt):
    """SIGINT or SIGTERM while a value command ran (the event loop cannot see signals then)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextmanager
def _signals_stop() -> Iterator[None]:
    """Raise Stopped at a SIGINT/SIGTERM while the block runs (in the main thread)."""
    def stop(signum: int, frame: object) -> None:
        raise Stopped(signum)

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _run(command: str) -> bytes:
    """Output of `command`, run without a shell; one trailing newline dropped, as $(...) does.
    Its standard error is not shown: a traced script (`set -x`) writes values there."""
    shown = Source("cmd", command)
    with _signals_stop():
        try:
            # stdin stays ours: with `--value-from -` it carries the value, not the
            # command's input
            process = subprocess.Popen(_split(command), stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        except OSError as exc:
            raise SourceError(f"{shown}: could not run ({type(exc).__name__})") from None
        deadline = time.monotonic() + _CMD_TIMEOUT_S
        with process:  # on leaving: its output closed, its end waited for
            assert process.stdout is not None
            try:
                out, ended = _read_until(process.stdout.fileno(), deadline)
                if ended:
                    process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                ended = False
            except BaseException:  # a signal: the command goes too
                process.kill()
                raise
            if not ended:  # too much output, or no end in time: the rest is not waited for
                process.kill()
    if len(out) >= _READ_LIMIT:
        return out  # refused as too large
    if not ended:  # the command, or a process it started, still held its output open
        raise SourceError(f"{shown}: its output was still open after {_CMD_TIMEOUT_S} s (the "
                          "command, or a process it started, kept it open); stopped")
    if process.returncode == -signal.SIGINT:  # a Ctrl-C that reached the command alone
        raise Stopped(signal.SIGINT)
    if process.returncode < 0:
        raise SourceError(f"{shown}: stopped by {_signal_name(-process.returncode)}")
    if process.returncode != 0:
        raise SourceError(f"{shown}: exited with status {process.returncode} (its output is not "
                          "shown, as it may hold secrets: run it yourself to see why)")
    return out[:-1] if out.endswith(b"\n") else out


def _read_until(fd: int, deadline: float) -> tuple[bytes, bool]:
    """What `fd` gives until its end, `_READ_LIMIT` bytes or `deadline`; and whether it ended.
    A deadline, not a kill of the command alone: a process it started may hold the pipe."""
    out = bytearray()
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while len(out) < _READ_LIMIT:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return bytes(out), False
            if selector.select(remaining):
                chunk = os.read(fd, _READ_LIMIT - len(out))
                if not chunk:
                    return bytes(out), True
                out += chunk
    return bytes(out), False


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:  # a real-time signal, say
        return f"signal {number}"


def _split(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError as exc:
        raise SourceError(f"{Source('cmd', command)}: {exc}") from None
