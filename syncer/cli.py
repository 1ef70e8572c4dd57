"""Command line: parse arguments, call one command, map what went wrong to an exit code."""

from __future__ import annotations

import argparse
import atexit
import os
import re
import secrets
import signal
import sys
from collections import Counter
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import anyio
import structlog

from . import __version__
from .config.load import (
    AppAuth,
    Config,
    GitHubConfig,
    api_url_problem,
    load_config,
    read_all_values,
)
from .core.model import APPS, VARIABLE_APPS, Scope
from .core.names import env_name_argument, name_argument, non_negative_number, positive_int
from .core.plan import WRITES, Change, PlanItem
from .execution.connect import (
    Settings,
    api_url_from,
    connect,
    every_org,
    find_token,
    ssl_context_for,
    token_source_for,
)
from .execution.engine import RunAborted
from .execution.interrupt import Interrupt, handling_signals
from .exits import AuthError, Exit, UsageError
from .github import errors
from .github.auth import acting_for
from .github.client import TokenSource
from .github.pacing import (
    DEFAULT_POINTS_PER_MINUTE,
    DEFAULT_WRITES_PER_MINUTE,
    MAX_CONCURRENCY,
    BudgetSpent,
)
from .observe import logs, redact
from .observe.summary import Summary, show, stop_text
from .sources import SourceError, Stopped, parse_source
from .store.journal import JournalError
from .store.state import LockHeld, State, StateError, default_state_path

if TYPE_CHECKING:
    from .store.saved_plan import SavedPlan

log = structlog.get_logger("syncer.cli")


def _concurrency(text: str) -> int:
    value = positive_int(text)
    if value > MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(f"at most {MAX_CONCURRENCY} (GitHub's limit on requests in flight)")
    return value


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



def _common_options() -> _Parser:
    common = _Parser(add_help=False)
    out = common.add_argument_group("output")
    out.add_argument("--log-format", choices=("auto", "json", "console"), default="auto",
                     help="JSON lines, or key=value for people (auto: JSON unless stderr is a terminal)")
    out.add_argument("--log-level", choices=logs.LEVELS,
                     help="default: warning on a terminal (the progress bar tells the story), "
                     "info elsewhere")
    out.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    return common


def _connection_options() -> _Parser:
    """Options that override the config file's [github] and [sync] settings (see FLAG_TO_CONFIG)."""
    conn = _Parser(add_help=False)
    g = conn.add_argument_group("GitHub")
    g.add_argument("--api-url", help="API base URL (default: $GITHUB_API_URL or https://api.github.com; "
                   "Enterprise Server: https://HOST/api/v3; Enterprise Cloud with data "
                   "residency: https://api.SUBDOMAIN.ghe.com)")
    g.add_argument("--token-env", metavar="NAME", type=env_name_argument,
                   help="environment variable holding the token (default: GITHUB_TOKEN, then GH_TOKEN)")
    g.add_argument("--ca-bundle", metavar="PEM", help="trust this CA bundle (private CA)")
    g.add_argument("--allow-insecure-http", action="store_const", const=True,
                   help="allow a plain http:// API URL that is not a loopback address (the token "
                   "then crosses the network unencrypted)")
    g.add_argument("--concurrency", type=_concurrency,
                   help=f"targets in progress at once (default 16, at most {MAX_CONCURRENCY})")
    g.add_argument("--writes-per-minute", type=non_negative_number, metavar="N",
                   help=f"writes one at a time, at most N a minute (default {DEFAULT_WRITES_PER_MINUTE}: "
                   "GitHub asks for at least one second between writes, and has blocked tools "
                   "that wrote faster; 0 lifts this, leaving the points budget, at your risk)")
    g.add_argument("--points-per-minute", type=non_negative_number, metavar="N",
                   help=f"pace all requests under GitHub's secondary limit of 900 points a minute "
                   f"(default {DEFAULT_POINTS_PER_MINUTE}; 0 alone turns all pacing off). "
                   "Against an Enterprise Server whose rate limiting is off, pacing is off "
                   "unless one of these two is given")
    g.add_argument("--no-wait", action="store_const", const=True,
                   help="when the hourly rate limit is spent, stop and list what was not written "
                   "instead of waiting for the reset")
    g.add_argument("--timeout", type=non_negative_number, default=30.0,
                   help="seconds per request (default 30)")
    g.add_argument("--key-cache", action="store_true",
                   help="reuse the public keys an earlier run saw (kept beside the state file): "
                   "no key GET at all until GitHub rejects a key, then one fresh GET")
    # fakehub compresses time for tests and benchmarks; the client must compress its minute alike.
    g.add_argument("--time-scale", type=non_negative_number, default=1.0, help=argparse.SUPPRESS)
    return conn


def _app_options() -> _Parser:
    """A GitHub App instead of a token, for the commands that act in one org (a config file's
    [github.app] does the same for plan and apply)."""
    app = _Parser(add_help=False)
    g = app.add_argument_group("GitHub App (instead of a token)")
    g.add_argument("--app-id", type=positive_int, metavar="ID", help="the App's id")
    g.add_argument("--app-key", metavar="SOURCE",
                   help="where its private key is: file:PATH, env:VAR or cmd:COMMAND")
    g.add_argument("--app-installation-id", type=positive_int, metavar="ID",
                   help="the installation to use (default: the App's installation on --org)")
    return app


def _resume_options(state_default: str) -> _Parser:
    resume = _Parser(add_help=False)
    g = resume.add_argument_group("state and resume")
    g.add_argument("--state", metavar="PATH", help=f"state file; its journal lies beside it, "
                   f"so an interrupted run resumes when run again (default: {state_default})")
    g.add_argument("--fresh", action="store_true",
                   help="ignore an interrupted run of the same command instead of resuming it")
    return resume


def _config_options(*, prune: bool, config_required: bool = True) -> _Parser:
    cfg = _resume_options("[sync].state, else $XDG_STATE_HOME/syncer/state.json")
    cfg.add_argument("-c", "--config", required=config_required, metavar="FILE",
                     help="the TOML config")
    if prune:
        cfg.add_argument("--prune", action="store_true",
                         help="also delete undeclared secrets (and variables) in the scopes "
                         "the config manages")
    cfg.add_argument("--detailed-exitcode", action="store_true",
                     help="exit 5 instead of 0 when plan has writes to make, or when apply "
                     "undid changes made on GitHub: drifted secrets rewritten (a value, a "
                     "selection, a deletion), undeclared ones syncer never wrote pruned")
    return cfg


def _report_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--report", metavar="PATH",
                        help="also write a JSON report of the run here (format_version 1, "
                        "see the README)")



def _set_arguments(p: argparse.ArgumentParser, what: str, apps: Sequence[str]) -> None:
    """`set` and `variable set`: one name, written across orgs, repositories or environments."""
    p.add_argument("name", metavar="NAME", help=f"the {what}'s name (stored upper-case)")
    _org_options(p)
    p.add_argument("--value-from", metavar="SOURCE",
                   help="env:VAR, file:PATH, cmd:COMMAND, or - for standard input")
    p.add_argument("--repos", action="append", default=[], metavar="GLOB", type=name_argument,
                   help="only repositories whose name matches (repeatable)")
    p.add_argument("--env", metavar="ENV", type=name_argument,
                   help=f"set an environment {what} in each repository")
    p.add_argument("--org-level", action="store_true", help=f"set one org {what} instead")
    p.add_argument("--visibility", choices=("all", "private", "selected"),
                   help=f"with --org-level: the org {what}'s visibility (default: an existing "
                   f"org {what} keeps its own, a new one is private; selected = the "
                   "repositories matched by --repos)")
    p.add_argument("--app", choices=apps, default="actions",
                   help=f"which {what}s (default actions)")
    p.add_argument("--include-archived", action="store_true",
                   help="also archived repositories (GitHub makes them read-only)")
    p.add_argument("--dry-run", action="store_true", help="list the targets, write nothing")
    _report_option(p)


def _org_options(parser: argparse.ArgumentParser) -> None:
    orgs = parser.add_mutually_exclusive_group(required=True)
    orgs.add_argument("--org", action="append", type=name_argument, metavar="ORG",
                      help="the organization; repeat it for several (one run, one report)")
    orgs.add_argument("--all-orgs", action="store_true",
                      help="every organization the token's user belongs to (GET /user/orgs), "
                      "or every one a GitHub App (--app-id) is installed on")


def orgs_named(args: argparse.Namespace) -> tuple[str, ...]:
    """--org as given, each once (GitHub's names are case-insensitive); () for --all-orgs."""
    seen: dict[str, str] = {}
    for org in args.org or ():
        seen.setdefault(org.lower(), org)
    return tuple(seen.values())


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="syncer", description="Keep GitHub Actions secrets and variables (and Dependabot, "
        "Codespaces and agent secrets) in sync across whole organisations.")
    parser.add_argument("--version", action="version", version=f"syncer {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    # Each subcommand gets its own copies: argparse shares parent actions, defaults included.
    state_default = "$XDG_STATE_HOME/syncer/state.json"
    p = sub.add_parser("set", parents=[_common_options(), _connection_options(), _app_options(),
                                       _resume_options(state_default)],
                       help="set one secret across an org",
                       description="Set one secret in every matching repository of an org "
                       "(or in an environment of each, or once at org level).")
    _set_arguments(p, "secret", APPS)

    variable = sub.add_parser("variable", help="Actions and agent variables (see syncer "
                              "variable set --help)",
                              description="Actions and Copilot agent variables: not secret, "
                              "their values are shown and may be given on the command line.")
    variable_commands = variable.add_subparsers(dest="variable_command", required=True,
                                                metavar="ACTION")
    vs = variable_commands.add_parser(
        "set", parents=[_common_options(), _connection_options(), _app_options(),
                        _resume_options(state_default)],
        help="set one variable across an org",
        description="Set one variable in every matching repository of an org (or in an "
        "environment of each, or once at org level): created where it is missing, updated "
        "where it exists, one write each.")
    _set_arguments(vs, "variable", VARIABLE_APPS)
    vs.add_argument("--value", metavar="TEXT",
                    help="the value itself (a variable is not secret); or --value-from")

    r = sub.add_parser("rotate", parents=[_common_options(), _connection_options(), _app_options(),
                                          _resume_options(state_default)],
                       help="write a new value everywhere a secret already lives",
                       description="Find NAME at org level, in every repository and every "
                       "environment of ORG, and write the new value to exactly those places.")
    r.add_argument("name", metavar="NAME", help="the secret to rotate")
    _org_options(r)
    source = r.add_mutually_exclusive_group()  # one of them, unless --dry-run
    source.add_argument("--value-from", metavar="SOURCE",
                        help="env:VAR, file:PATH, cmd:COMMAND, or - for standard input")
    source.add_argument("--generate", type=positive_int, metavar="N",
                        help="make a random value from N bytes (URL-safe); needs --output")
    r.add_argument("--output", metavar="PATH",
                   help="with --generate: save the new value here first (mode 0600, never overwritten)")
    r.add_argument("--app", choices=APPS,
                   help="only this kind of secret (default: every kind, Actions, Dependabot, "
                   "Codespaces and agents, wherever the name lives)")
    r.add_argument("--repos", action="append", default=[], metavar="GLOB", type=name_argument,
                   help="only repositories whose name matches (repeatable); the org secret "
                   "is then left as is unless --with-org-secret")
    r.add_argument("--with-org-secret", action="store_true",
                   help="with --repos: rotate the org secret too")
    r.add_argument("--include-archived", action="store_true",
                   help="also look in archived repositories")
    r.add_argument("--dry-run", action="store_true", help="list where it lives, write nothing")
    _report_option(r)

    a = sub.add_parser("audit", parents=[_common_options(), _connection_options(), _app_options()],
                       help="inventory of every secret and variable in an org, with ages and "
                       "shadowing",
                       description="List every org, repository and environment secret (Actions, "
                       "Dependabot, Codespaces, agents) and variable (Actions, agents) of ORG "
                       "with its age; flag shadowing and full scopes. Reads only.")
    _org_options(a)
    a.add_argument("--repos", action="append", default=[], metavar="GLOB", type=name_argument,
                   help="only repositories whose name matches (repeatable)")
    a.add_argument("--name", metavar="GLOB", help="only secrets and variables whose name matches")
    a.add_argument("--older-than", type=positive_int, metavar="DAYS",
                   help="only secrets and variables last updated at least DAYS ago")
    a.add_argument("--app", choices=APPS,
                   help="only this app's secrets and variables (default: every app)")
    a.add_argument("--kind", choices=("secrets", "variables"),
                   help="only secrets, or only variables (default: both)")
    a.add_argument("--show-values", action="store_true",
                   help="show each variable's value (off by default: an inventory may be "
                   "shared; secrets' values are never readable)")
    a.add_argument("--format", choices=("table", "json", "csv"), default="table",
                   help="table for people; json or csv (columns: "
                   "app,kind,scope,name,visibility,selected_repos,created_at,updated_at,"
                   "age_days,flags,type,value) for machines")
    _report_option(a)

    m = sub.add_parser("migrate", parents=[_common_options(), _connection_options(),
                                           _resume_options(state_default)],
                       help="copy an org's secrets (names, scopes, visibility) to another org",
                       description="Copy the shape of SRC's Actions, Dependabot and Codespaces "
                       "secrets to DST, also across hosts; values come from --values, or from a "
                       "workflow that seals them in SRC (--export-workflow, --import-sealed; "
                       "not Codespaces secrets, which no workflow can read).")
    from .commands.migrate import add_arguments as migrate_arguments

    migrate_arguments(m)
    _report_option(m)

    pl = sub.add_parser("plan", parents=[_common_options(), _connection_options(),
                                         _config_options(prune=True)],
                        help="show what apply would change (never writes)",
                        description="Read GitHub and the state file and show, grouped by secret "
                        "and variable, what apply would create, update, rewrite (drifted) or "
                        "prune. Never writes.")
    pl.add_argument("--format", choices=("text", "json"), default="text",
                    help="text for people; json: the plan's older JSON (kept as it was; "
                    "--report writes the documented one)")
    pl.add_argument("--out", metavar="PLAN", help="also save the plan (no values) for "
                    "`syncer apply PLAN`, which writes exactly it")
    _report_option(pl)
    ap = sub.add_parser("apply", parents=[_common_options(), _connection_options(),
                                          _config_options(prune=True, config_required=False)],
                        help="make GitHub match the config; write only what differs",
                        description="Write every secret and variable of the config that is "
                        "missing, changed, or drifted (changed on GitHub by someone else; a "
                        "variable's value is compared exactly); skip what is already right; "
                        "record each write in the state file. Exit 0 in sync, 1 if targets "
                        "failed. Given a plan saved by `plan --out`, write exactly it, or "
                        "nothing (exit 2) if the config, a value or GitHub changed since.")
    ap.add_argument("plan_file", nargs="?", metavar="PLAN",
                    help="a plan saved by `syncer plan --out` (instead of -c)")
    ap.add_argument("--format", choices=("text", "json"), default="text",
                    help="json: the report (as --report writes it) on stdout")
    _report_option(ap)

    d = sub.add_parser("demo", parents=[_common_options()],
                       help="a self-contained demo against a local fakehub")
    d.add_argument("--repos", type=positive_int, default=200, help="repositories (default 200)")
    d.set_defaults(log_level="warning")  # the live count and summary tell the story

    sub.add_parser("fakehub", add_help=False, help="run a local fake GitHub (see syncer fakehub --help)")
    from .commands import completion, config_cmd

    config_cmd.add_parser(sub)
    completion.add_parser(sub)
    return parser


#: Each connection flag, and where the config file keeps the same setting.
FLAG_TO_CONFIG: dict[str, tuple[str, str]] = {
    "api_url": ("github", "api_url"),
    "ca_bundle": ("github", "ca_bundle"),
    "allow_insecure_http": ("github", "allow_insecure_http"),
    "token_env": ("github", "token_env"),
    "concurrency": ("sync", "concurrency"),
    "points_per_minute": ("sync", "points_per_minute"),
    "writes_per_minute": ("sync", "writes_per_minute"),
    "no_wait": ("sync", "wait_for_reset"),  # inverted
}


def effective(args: argparse.Namespace, config: Config | None, flag: str) -> Any:
    """A flag's value if given, else the config file's, else None (the built-in default)."""
    value = getattr(args, flag, None)
    if value is not None:
        return value
    if config is None:
        return None
    section, field = FLAG_TO_CONFIG[flag]
    found = getattr(getattr(config, section), field)
    return (not found) if flag == "no_wait" else found


def settings_from(args: argparse.Namespace, config: Config | None = None,
                  url_from: str = "--api-url") -> Settings:
    """`url_from` names where the API URL was given, for its errors."""
    defaults = Settings()
    allow_http = bool(effective(args, config, "allow_insecure_http"))
    given = effective(args, config, "api_url")
    if given is None:
        url_from = "GITHUB_API_URL" if os.environ.get("GITHUB_API_URL") else url_from
    elif config is not None and args.api_url is None:
        url_from = "api_url"
    api_url = api_url_from(given)
    if (problem := api_url_problem(api_url, allow_http)) is not None:
        raise UsageError(f"{url_from}: {problem}")
    concurrency = effective(args, config, "concurrency")
    return Settings(
        api_url=api_url,
        concurrency=defaults.concurrency if concurrency is None else concurrency,
        writes_per_minute=effective(args, config, "writes_per_minute"),
        points_per_minute=effective(args, config, "points_per_minute"),
        wait_for_reset=not effective(args, config, "no_wait"),
        timeout=args.timeout,
        ca_bundle=effective(args, config, "ca_bundle"),
        minute=60.0 / args.time_scale if args.time_scale else 60.0,
        key_cache=default_state_path().parent / "public-keys.json" if args.key_cache else None,
        shared_pace=default_state_path().parent / "pace",
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["fakehub"]:
        from .fakehub.cli import main as fakehub_main

        return fakehub_main(argv[1:])
    args = build_parser().parse_args(argv)
    structlog.contextvars.bind_contextvars(run_id=secrets.token_hex(6), command=args.command)
    logs.configure(args.log_format, args.log_level or ("warning" if sys.stderr.isatty() else "info"))
    try:
        return int(anyio.run(_dispatch_with_signals, args))
    except UsageError as exc:
        return _fail(str(exc), Exit.USAGE)
    except StateError as exc:
        return _fail(str(exc), Exit.USAGE)
    except LockHeld as exc:
        return _fail(str(exc), Exit.LOCKED)
    except JournalError as exc:
        return _fail(str(exc), Exit.FAILED, args)
    except AuthError as exc:
        return _fail(str(exc), Exit.AUTH)
    except RunAborted as exc:
        return _fail(str(exc), Exit.AUTH, args)
    except errors.AuthFailed as exc:
        return _fail(f"token rejected ({exc.message})", Exit.AUTH, args)
    except (BudgetSpent, errors.RateLimited) as exc:  # while discovering (--no-wait, mostly)
        spent = exc if isinstance(exc, BudgetSpent) else BudgetSpent(exc.reset_at)
        if getattr(args, "stopped_after_writing", None):
            return _fail(str(spent), Exit.FAILED, args)
        return _fail(f"{spent} before any secret was written; run again after the reset",
                     Exit.FAILED)
    except errors.GitHubError as exc:  # while discovering, before any target could fail alone
        return _fail(f"GitHub could not be read: {exc}", Exit.FAILED, args)
    except KeyboardInterrupt as exc:
        return _fail("interrupted", _interrupted_code(exc))


def _interrupted_code(exc: KeyboardInterrupt) -> Exit:
    """130 for Ctrl-C, 143 for a SIGTERM that came while a value command ran."""
    terminated = isinstance(exc, Stopped) and exc.signum == signal.SIGTERM
    return Exit.TERMINATED if terminated else Exit.INTERRUPTED


def entry() -> NoReturn:
    """The `syncer` command: main(), then an exit without Python's teardown.

    Freeing every module and object of a finished run took ~30-40 ms here, a tenth of a short
    run. Nothing syncer writes needs it: state, journal and logs are closed and flushed by the
    time main returns, and exit handlers still run. An error main lets escape ends as usual.
    """
    # None: started with that descriptor closed
    sys.stdout, sys.stderr = (None if s is None else logs.Forgiving(s)
                              for s in (sys.stdout, sys.stderr))
    try:
        code = main()
    except KeyboardInterrupt as exc:  # before or after the run's own handling (parsing, say)
        code = _fail("interrupted", _interrupted_code(exc))
    atexit._run_exitfuncs()
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:  # None: syncer was started with that descriptor closed
                stream.flush()
    except (OSError, ValueError):
        sys.exit(code)  # Python reports the unwritable stream as it always does
    os._exit(code)


async def _dispatch_with_signals(args: argparse.Namespace) -> int:
    """Run the command; on SIGINT/SIGTERM let in-flight writes finish, then say how to resume.
    A run that stops on its own after writing began (a rejected token, a spent budget with
    --no-wait, GitHub out of reach) gives the same account of how far it got."""
    code: int = Exit.INTERRUPTED
    with anyio.CancelScope() as everything:
        with handling_signals(everything.cancel) as interrupt:
            try:
                code = await _dispatch(args, interrupt)
            except Exception:  # main() reports it, with this account
                if interrupt.writing_began and not interrupt.finished:
                    args.stopped_after_writing = f"{interrupt.account()}, {_how_to_resume(args)}"
                raise
    if interrupt.signum is None:
        if interrupt.stopped_by and interrupt.writing_began and not interrupt.finished:
            print(f"syncer: stopped ({stop_text(interrupt.stopped_by)}): {interrupt.account()}, "
                  f"{_how_to_resume(args)}", file=sys.stderr)
        return code
    if interrupt.finished:  # a signal after the last write changes nothing
        return code
    if not interrupt.writing_began:
        # a read-only command (plan, audit), or apply stopped while still reading GitHub
        print("syncer: interrupted before anything was written", file=sys.stderr)
        return interrupt.exit_code
    print(f"syncer: interrupted: {interrupt.account()}, {_how_to_resume(args)}", file=sys.stderr)
    return interrupt.exit_code


def _how_to_resume(args: argparse.Namespace) -> str:
    if args.command == "rotate" and args.generate:
        # the same command would refuse the --output it saved, and would generate a new value
        return (f"resume with --value-from file:{args.output} in place of --generate and "
                "--output")
    return "resume with the same command"


async def _dispatch(args: argparse.Namespace, stop: Interrupt) -> int:
    show_progress = False if args.quiet else None
    if args.command in ("config", "completion"):  # no GitHub, no state
        from .commands import completion, config_cmd

        return config_cmd.run(args) if args.command == "config" else completion.run(args)
    if args.command == "demo":
        from .commands.demo import run_demo

        return await run_demo(args.repos, show_progress=show_progress, stop=stop)
    if args.command in ("plan", "apply"):
        return await _sync(args, show_progress, stop)
    if args.command == "rotate":
        return await _rotate(args, show_progress, stop)
    if args.command == "audit":
        return await _audit(args)
    if args.command == "migrate":
        return await _migrate(args, stop)
    from .commands import set as set_command

    variable = args.command == "variable"
    request = set_command.parse_request(
        args.name, orgs_named(args), args.value_from, repos=tuple(args.repos), env=args.env,
        org_level=args.org_level, visibility=args.visibility, app=args.app,
        include_archived=args.include_archived, dry_run=args.dry_run, all_orgs=args.all_orgs,
        **({"target": "variable", "literal": args.value} if variable else {}))
    settings = settings_from(args)
    token = _credentials(args, settings)
    state = _open_state(args.state)
    with _locked_unless_dry_run(request.dry_run, state):
        # a dry run reads no value: a cmd: source may mint a credential
        value = None
        if variable and not request.dry_run:
            value = set_command.read_variable_value(request)
        elif not request.dry_run:
            assert request.source is not None
            value = set_command.read_value(request.source)
        code, summary = await set_command.run_set(request, value, settings, token, state,
                                                  fresh=args.fresh, show_progress=show_progress,
                                                  stop=stop)
    if not request.dry_run:
        show(summary, sys.stderr)
    _report(args, _write_report("set", code, summary))
    return code


def _write_report(command: str, code: int, summary: Summary,
                  unread: Sequence[tuple[str, str]] = (),
                  earlier: Sequence[tuple[Scope, str]] = ()) -> dict[str, Any]:
    """The report of set and rotate: every target written, with why it was chosen."""
    from .observe import report

    reason = report.WriteReason.REQUESTED if command == "set" else \
        report.WriteReason.SECRET_LIVES_HERE
    return report.build(command, code, summary,
                        targets=report.write_targets(summary.outcomes, reason, earlier),
                        unread=report.unread_repositories(unread))


def _locked_unless_dry_run(dry_run: bool, state: State) -> AbstractContextManager[None]:
    """The state's lock for a run that writes, taken before its value is read and before its
    first request: a second run on the same state is told at once (exit 4), without running
    a value command or reading the whole org."""
    return nullcontext() if dry_run else state.lock()


async def _rotate(args: argparse.Namespace, show_progress: bool | None, stop: Interrupt) -> int:
    from .commands import rotate
    from .commands.set import read_value
    from .sources import KEPT_SYNTAX, generate, parse_source

    name = rotate.check_name(args.name)
    if not args.dry_run and args.value_from is None and args.generate is None:
        raise UsageError("--value-from SOURCE or --generate N is required (a --dry-run needs "
                         "neither)")
    if args.with_org_secret and not args.repos:
        raise UsageError("--with-org-secret goes with --repos (without it the org secret is "
                         "rotated anyway)")
    if args.generate is not None and not args.output:
        raise UsageError("--generate needs --output PATH, so the new value is kept somewhere")
    if args.generate is not None and not 16 <= args.generate <= 4096:
        raise UsageError("--generate N: N must be from 16 to 4096 bytes")
    source = None
    if args.value_from is not None:
        try:
            source = parse_source(args.value_from, KEPT_SYNTAX)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if source.kind == "generate":
            raise UsageError("--value-from generate:N would write a value nobody keeps; "
                             "use --generate N --output PATH")
    settings = settings_from(args)
    token = _credentials(args, settings)
    if source is None and args.generate is not None:
        rotate.check_output(args.output)
    orgs = orgs_named(args)
    request = rotate.RotateRequest(name, orgs[0] if orgs else "", args.app, tuple(args.repos),
                                   args.include_archived, args.dry_run,
                                   org_secret=not args.repos or args.with_org_secret,
                                   more_orgs=orgs[1:], all_orgs=args.all_orgs)
    state = _open_state(args.state)
    with _locked_unless_dry_run(args.dry_run, state):
        value, save = None, None  # a dry run reads no value: a cmd: source may mint a credential
        if not args.dry_run and source is not None:
            value = read_value(source)
        elif not args.dry_run:
            value = generate(args.generate)
            redact.register(value.reveal())
            save = partial(rotate.save_generated, value, args.output)
        result = await rotate.run_rotate(request, value, settings, token, state,
                                         fresh=args.fresh, show_progress=show_progress,
                                         before_writing=save, stop=stop)
    for line in rotate.report_lines(request, result):
        print(line)
    if not result.org_secrets and not result.places:
        unread = (f"; {len(result.unreadable)} repositories could not be searched (listed "
                  "above)" if result.unreadable else "")
        places = ("Dependabot: org or repositories" if args.app == "dependabot" else
                  "org, repositories or environments" if args.app == "actions" else
                  f"{args.app}: org or repositories" if args.app else
                  "org, repositories or environments; " + ", ".join(request.apps) + " secrets")
        where = " or ".join(request.orgs)
        _report(args, _write_report("rotate", Exit.FAILED, result.summary, result.unreadable))
        return _fail(f"{name} was not found in {where} ({places}){unread}", Exit.FAILED)
    if not result.places and not request.org_secret:
        _report(args, _write_report("rotate", Exit.FAILED, result.summary, result.unreadable))
        return _fail(f"{name} was not found in the repositories --repos selects; the org secret "
                     "was left as is (add --with-org-secret to rotate it)", Exit.FAILED)
    if result.org_secrets and not request.org_secret:
        print(f"warning: the org secret {name} was left as is (--repos narrows the rotation to "
              "repository and environment secrets; add --with-org-secret to rotate it too)",
              file=sys.stderr)
    if result.shadowed:
        shadows = len(result.shadowed)
        print(f"warning: {shadows} repository/environment secret{'s' * (shadows != 1)} named "
              f"{name} shadow{'s' * (shadows == 1)} the org secret; workflows there use "
              f"{'those' if shadows != 1 else 'it'}, not the org secret",
              file=sys.stderr)
    if not args.dry_run:
        log.info("summary", secret=name, shadowed=len(result.shadowed),
                 unread=len(result.unreadable), **result.summary.as_event())
        show(result.summary, sys.stderr)
    if result.unreadable:
        print(f"unread {len(result.unreadable)}: repositories GitHub would not show (listed "
              f"above, with why); {name} may live there too, with its old value",
              file=sys.stderr)
    _report(args, _write_report("rotate", int(result.exit_code), result.summary,
                                result.unreadable, [(s, name) for s in result.earlier]))
    return int(result.exit_code)


def _credentials(args: argparse.Namespace, settings: Settings) -> str | TokenSource:
    """The App of --app-id/--app-key (installation tokens for --org), else a token from the
    chain of find_token."""
    orgs = orgs_named(args)
    if args.all_orgs and args.app_installation_id is not None:
        raise UsageError("--app-installation-id names one installation; --all-orgs means "
                         "every installation of the App")
    return _app_or_token("--", args.app_id, args.app_key, args.app_installation_id,
                         args.token_env, "--token-env", orgs[0] if len(orgs) == 1 else orgs,
                         settings, app_hint="use a GitHub App with --app-id and --app-key",
                         every_installation=args.all_orgs)


def _app_or_token(flags: str, app_id: int | None, app_key: str | None,
                  installation_id: int | None, token_env: str | None, token_flag: str,
                  org: str | Sequence[str], settings: Settings, app_hint: str, *,
                  every_installation: bool = False) -> str | TokenSource:
    """The App of {flags}app-id/{flags}app-key acting in `org`, else a token from the chain of
    find_token. The key is read here: a bad one is a usage error before any request."""
    if app_id is None and app_key is None:
        if installation_id is not None:
            raise UsageError(f"{flags}app-installation-id needs {flags}app-id and {flags}app-key")
        return find_token(token_env, api_url=settings.api_url, named_by=token_flag,
                          app_hint=app_hint)
    if app_id is None or app_key is None:
        raise UsageError(f"{flags}app-id and {flags}app-key go together")
    if token_env:
        raise UsageError(f"{token_flag} and {flags}app-id are two ways to authenticate: "
                         "choose one")
    if not app_key.startswith(("env:", "file:", "cmd:")):
        raise UsageError(f"{flags}app-key takes file:PATH, env:VAR or cmd:COMMAND")
    try:
        key = parse_source(app_key)
    except SourceError as exc:
        raise UsageError(f"{flags}app-key: {exc}") from None
    app = GitHubConfig(app=AppAuth(app_id, key, installation_id))
    return token_source_for(app, None, org, settings.api_url,
                            ssl_context_for(settings.ca_bundle), key_named=f"{flags}app-key",
                            every_installation=every_installation)


async def _migrate(args: argparse.Namespace, stop: Interrupt) -> int:
    """Each side's settings and token: --from-/--to- flags, else the shared ones."""
    from .migrate.run import run_migrate_command

    def settings_for(side: str) -> Settings:
        own_url = getattr(args, f"{side}_api_url")
        return settings_from(argparse.Namespace(**{**vars(args), "api_url": own_url or args.api_url}),
                             url_from=f"--{side}-api-url" if own_url else "--api-url")

    def token_for(side: str) -> str | TokenSource:
        own_token_env = getattr(args, f"{side}_token_env")
        return _app_or_token(
            f"--{side}-", getattr(args, f"{side}_app_id"), getattr(args, f"{side}_app_key"),
            getattr(args, f"{side}_app_installation_id"), own_token_env or args.token_env,
            f"--{side}-token-env" if own_token_env else "--token-env",
            args.source if side == "from" else args.dest, settings_for(side),
            app_hint=f"use a GitHub App with --{side}-app-id and --{side}-app-key")

    return await run_migrate_command(args, settings_for=settings_for, token_for=token_for,
                                     stop=stop)


async def _audit(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from .commands import audit

    stores = audit.stores_asked(args.app, args.kind)  # a bad pair is refused before a request
    settings = settings_from(args)
    token = _credentials(args, settings)
    settings = replace(settings, response_cache=_response_cache())
    inventories = []
    async with connect(settings, token) as run:
        orgs = orgs_named(args) or tuple(await every_org(run, token))
        for org in orgs:
            with acting_for(org):  # a GitHub App's token for this org
                inventories.append(await audit.run_audit(
                    run.api, org, repos_globs=args.repos, concurrency=settings.concurrency,
                    stores=stores))
        requests = run.client.pacer.stats.requests
        not_modified = run.client.cache.hits if run.client.cache else 0
    now = datetime.now(UTC)
    rows = [row for inventory in inventories  # shadowing is within one org
            for row in audit.audit_rows(inventory.found, inventory.repos, now,
                                        name_glob=args.name, older_than=args.older_than,
                                        show_values=args.show_values)]
    print(audit.render(rows, args.format, show_values=args.show_values))
    unreadable = [u for inventory in inventories for u in inventory.unreadable]
    for place, why in unreadable:
        print(f"unread {place}: {why}", file=sys.stderr)
    variables = sum(row.type == "variable" for row in rows)
    log.info("summary", secrets=len(rows) - variables, variables=variables,
             orgs=len(inventories), requests=requests, not_modified=not_modified,
             unreadable_repositories=len(unreadable))
    code = int(Exit.FAILED if unreadable else Exit.OK)
    if args.report:
        from .observe import report

        _report(args, report.build("audit", code, None,
                                   extra_counts={"secrets": len(rows) - variables,
                                                 "variables": variables},
                                   unread=report.unread_repositories(unreadable)))
    return code


async def _sync(args: argparse.Namespace, show_progress: bool | None, stop: Interrupt) -> int:
    from .commands.sync import run_sync
    from .observe import report
    from .observe.planview import plan_json, plan_text
    from .store import saved_plan

    apply = args.command == "apply"
    saved = _saved_plan(args) if apply else None
    config_path = saved.config_path if saved is not None else args.config
    config = load_config(config_path)
    settings = replace(settings_from(args, config), response_cache=_response_cache())
    if saved is not None and settings.api_url != saved.api_url:
        raise UsageError(f"{args.plan_file}: planned against {saved.api_url}, not "
                         f"{settings.api_url}; nothing was written")
    orgs = sorted({s.org for s in config.specs}, key=str.lower)
    token = token_source_for(config.github, effective(args, config, "token_env"),
                             orgs[0] if len(orgs) == 1 else orgs, settings.api_url,
                             ssl_context_for(settings.ca_bundle),
                             token_env_in_config=args.token_env is None)
    state = _open_state(args.state or (saved.state_path if saved else None) or config.sync.state)
    prune = saved.prune if saved is not None else args.prune
    shown = False

    def before_writing(plan: list[PlanItem]) -> None:
        nonlocal shown
        if saved is not None:
            saved_plan.check(saved, args.plan_file, plan)
        elif sys.stderr.isatty() and any(i.change is not Change.UNCHANGED for i in plan):
            print(plan_text(plan), file=sys.stderr)  # what is about to be written, first
            shown = True

    config_info = {"path": str(Path(config_path).resolve()),
                   "sha256": saved_plan.config_digest(config_path)}
    with _locked_unless_dry_run(not apply, state):
        values, variable_values = read_all_values(config)  # variables' are no secrets
        for value in values.values():
            redact.register(value.reveal())
        try:
            result = await run_sync(config, values, settings, token, state, apply=apply,
                                    prune=prune, fresh=args.fresh, show_progress=show_progress,
                                    before_writing=before_writing,
                                    variable_values=variable_values, stop=stop)
        except saved_plan.PlanChanged as refused:
            changes = [{"code": c.what.value, "secret": c.secret, "scope": c.scope,
                        "message": c.message} for c in refused.changes]
            _report(args, report.build("apply", Exit.USAGE, None, config=config_info,
                                       saved_plan_changes=changes))
            raise
    detailed = args.detailed_exitcode and result.exit_code == Exit.OK
    if not apply:
        if args.out:
            saved_plan.save(args.out, saved_plan.to_json(
                result.plan, config_path=config_path, state_path=str(state.path),
                api_url=settings.api_url, prune=prune or config.sync.prune))
        print(plan_json(result.plan) if args.format == "json" else plan_text(result.plan))
        pending = any(i.change in WRITES for i in result.plan)
        code = int(Exit.CHANGES if detailed and pending else result.exit_code)
        _report(args, report.build("plan", code, result.summary, plan=result.plan,
                                   targets=report.plan_targets(result.plan, None),
                                   unread=report.unread_from_plan(result.plan),
                                   config=config_info))
        return code
    changed = [i for i in result.plan if i.change is not Change.UNCHANGED]
    if changed and not shown:
        print(plan_text(result.plan), file=sys.stderr)  # lists the changes, counts them all
    assert result.summary is not None
    drifted = sum(i.change is Change.DRIFTED for i in result.plan)
    missing = sum(i.change is Change.MISSING_TARGET for i in result.plan)
    unreadable = sum(i.change is Change.UNREADABLE for i in result.plan)
    log.info("summary", drifted=drifted, unchanged=len(result.plan) - len(changed),
             missing_targets=missing, unreadable_targets=unreadable, **result.summary.as_event())
    unchanged: Counter[tuple[str, str]] = Counter((i.name, i.scope.kind) for i in result.plan
                        if i.change is Change.UNCHANGED)
    show(result.summary, sys.stderr, unchanged)
    if missing:  # not among the outcomes: nothing was attempted for them
        print(f"missing {missing}: the config names environments or repositories that do not "
              "exist (listed above); nothing was written there", file=sys.stderr)
    if unreadable:
        print(f"unreadable {unreadable}: GitHub would not show what these scopes hold (listed "
              "above, with why); nothing was written there", file=sys.stderr)
    undone = any(i.undoes_a_change_on_github for i in result.plan)
    code = int(Exit.CHANGES if detailed and undone else result.exit_code)
    built = report.build("apply", code, result.summary, plan=result.plan,
                         targets=report.plan_targets(result.plan, result.outcomes,
                                                     result.earlier),
                         unread=report.unread_from_plan(result.plan), config=config_info)
    _report(args, built)
    if args.format == "json":
        print(report.dumps(built))
    return code


def _saved_plan(args: argparse.Namespace) -> SavedPlan | None:
    """apply's saved plan, if given (then not -c), with its config unchanged since."""
    from .store import saved_plan

    if args.plan_file is None:
        if args.config is None:
            raise UsageError("apply needs -c CONFIG, or a PLAN saved by plan --out")
        return None
    if args.config is not None:
        raise UsageError("apply takes a saved PLAN or -c CONFIG, not both (the plan names "
                         "its config)")
    if args.prune:
        raise UsageError("--prune is part of the saved plan: plan --out again with --prune")
    saved = saved_plan.load(args.plan_file)
    if saved_plan.config_digest(saved.config_path) != saved.config_sha256:
        raise UsageError(f"{args.plan_file}: the config {saved.config_path} changed since the "
                         "plan was saved; nothing was written: run plan --out again")
    return saved


def _report(args: argparse.Namespace, built: dict[str, Any]) -> None:
    """--report PATH: the run's JSON report, written whole."""
    from .observe import report

    if getattr(args, "report", None):
        report.write(args.report, built)


def _response_cache() -> Path:
    """Where listings and public keys are kept with their ETags between runs (no values)."""
    return default_state_path().parent / "responses.json"


def _open_state(path: str | None) -> State:
    state = State.open(path or default_state_path())
    for warning in state.warnings:
        log.warning("state", message=warning)
    return state


def _fail(message: str, code: Exit, args: argparse.Namespace | None = None) -> int:
    """One line on stderr; after writing began, with how far the run got and how to resume."""
    account = getattr(args, "stopped_after_writing", None)
    print(f"syncer: error: {message}{f'; {account}' if account else ''}", file=sys.stderr)
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
