"""The options several commands share, the argparse converters of their values, and how the
given options become Settings and credentials.

Each command adds the groups it takes (`add_connection(parser)`, …) and reads them into the
frozen values here (`connection_from(namespace)`) inside its `request_from`; the
Namespace goes no further. Settings and credentials are made in the command's `run`:
they read the environment, files and, for a GitHub App, its key.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from ..config.model import AppAuth, Config, GitHubConfig
from ..config.url_policy import api_url_problem
from ..core.limits import DEFAULT_CONCURRENCY, MAX_CONCURRENCY
from ..core.names import env_name_problem, looks_like_token
from ..execution.connect import Settings, api_url_from
from ..execution.credentials import find_token, ssl_context_for, token_source_for
from ..exits import UsageError
from ..github.client import TokenSource
from ..github.pacing_rules import DEFAULT_POINTS_PER_MINUTE, DEFAULT_WRITES_PER_MINUTE
from ..observe import logs
from ..sources import SourceError, parse_source
from ..store.paths import default_state_path
from ..store.state import State

STATE_DEFAULT = "$XDG_STATE_HOME/syncer/state.json"


# --- converters: argparse types whose errors never repeat what may be a secret -----------

def name_argument(text: str) -> str:
    """argparse type of the options that name an org, repository or environment: a token
    typed there would be repeated in messages and sent in URLs."""
    if looks_like_token(text):
        raise argparse.ArgumentTypeError("looks like a GitHub token, not a name (not repeated "
                                         "here); if that token is real, revoke it")
    return text


def non_negative_number(text: str) -> float:
    """argparse type of seconds and rates; what is not a number is not repeated."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a number (not repeated here)") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError("must be a number from 0 up")
    return value


def positive_int(text: str) -> int:
    """argparse type of counts and ids; what is not a number is not repeated (a token typed
    in the wrong place)."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a whole number (not repeated here)") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def env_name_argument(text: str) -> str:
    """argparse type of the options that name an environment variable (--token-env and kin):
    argparse repeats a value its type rejects with ValueError, but not this error's."""
    problem = env_name_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


def concurrency_argument(text: str) -> int:
    value = positive_int(text)
    if value > MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(f"at most {MAX_CONCURRENCY} (GitHub's limit on requests in flight)")
    return value


# --- option groups ---------------------------------------------------------------------------

def add_output(parser: argparse.ArgumentParser) -> None:
    out = parser.add_argument_group("output")
    out.add_argument("--log-format", choices=("auto", "json", "console"), default="auto",
                     help="JSON lines, or key=value for people (auto: JSON unless stderr is a terminal)")
    out.add_argument("--log-level", choices=logs.LEVELS,
                     help="default: warning on a terminal (the progress bar tells the story), "
                     "info elsewhere")
    out.add_argument("-q", "--quiet", action="store_true", help="no progress line")


def add_connection(parser: argparse.ArgumentParser) -> None:
    """Options that override the config file's [github] and [sync] settings (see FLAG_TO_CONFIG)."""
    g = parser.add_argument_group("GitHub")
    g.add_argument("--api-url", help="API base URL (default: $GITHUB_API_URL or https://api.github.com; "
                   "Enterprise Server: https://HOST/api/v3; Enterprise Cloud with data "
                   "residency: https://api.SUBDOMAIN.ghe.com)")
    g.add_argument("--token-env", metavar="NAME", type=env_name_argument,
                   help="environment variable holding the token (default: GITHUB_TOKEN, then GH_TOKEN)")
    g.add_argument("--ca-bundle", metavar="PEM", help="trust this CA bundle (private CA)")
    g.add_argument("--allow-insecure-http", action="store_const", const=True,
                   help="allow a plain http:// API URL that is not a loopback address (the token "
                   "then crosses the network unencrypted)")
    g.add_argument("--concurrency", type=concurrency_argument,
                   help=f"targets in progress at once (default {DEFAULT_CONCURRENCY}, at most "
                   f"{MAX_CONCURRENCY})")
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


def add_app(parser: argparse.ArgumentParser) -> None:
    """A GitHub App instead of a token, for the commands that act in orgs named on the command
    line (a config file's [github.app] does the same for plan and apply)."""
    g = parser.add_argument_group("GitHub App (instead of a token)")
    g.add_argument("--app-id", type=positive_int, metavar="ID", help="the App's id")
    g.add_argument("--app-key", metavar="SOURCE",
                   help="where its private key is: file:PATH, env:VAR or cmd:COMMAND")
    g.add_argument("--app-installation-id", type=positive_int, metavar="ID",
                   help="the installation to use (default: the App's installation on --org)")


def add_resume(parser: argparse.ArgumentParser, state_default: str = STATE_DEFAULT) -> None:
    g = parser.add_argument_group("state and resume")
    g.add_argument("--state", metavar="PATH", help=f"state file; its journal lies beside it, "
                   f"so an interrupted run resumes when run again (default: {state_default})")
    g.add_argument("--fresh", action="store_true",
                   help="ignore an interrupted run of the same command instead of resuming it")


def add_orgs(parser: argparse.ArgumentParser) -> None:
    orgs = parser.add_mutually_exclusive_group(required=True)
    orgs.add_argument("--org", action="append", type=name_argument, metavar="ORG",
                      help="the organization; repeat it for several (one run, one report)")
    orgs.add_argument("--all-orgs", action="store_true",
                      help="every organization the token's user belongs to (GET /user/orgs), "
                      "or every one a GitHub App (--app-id) is installed on")


def add_writing_in_orgs(parser: argparse.ArgumentParser, name_help: str) -> None:
    """What set, variable set and rotate share: the output, GitHub, App and state options,
    the NAME they write, and the orgs they write it in."""
    add_output(parser)
    add_connection(parser)
    add_app(parser)
    add_resume(parser)
    parser.add_argument("name", metavar="NAME", help=name_help)
    add_orgs(parser)


def add_archived_dry_run_report(parser: argparse.ArgumentParser, *, archived: str,
                                dry_run: str) -> None:
    """The last options of set, variable set and rotate, with their own help."""
    parser.add_argument("--include-archived", action="store_true", help=archived)
    parser.add_argument("--dry-run", action="store_true", help=dry_run)
    add_report(parser)


def add_report(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--report", metavar="PATH",
                        help="also write a JSON report of the run here (format_version 1, "
                        "see the README)")


# --- what the options say, as frozen values -----------------------------------------------

@dataclass(frozen=True)
class Connection:
    """The GitHub options as given (None: not given; the config or the default decides)."""

    api_url: str | None = None
    token_env: str | None = None
    ca_bundle: str | None = None
    allow_insecure_http: bool | None = None
    concurrency: int | None = None
    writes_per_minute: float | None = None
    points_per_minute: float | None = None
    no_wait: bool | None = None
    timeout: float = 30.0
    key_cache: bool = False
    time_scale: float = 1.0


def connection_from(namespace: argparse.Namespace) -> Connection:
    return Connection(**{name: getattr(namespace, name) for name in Connection.__dataclass_fields__})


@dataclass(frozen=True)
class AppOptions:
    """--app-id/--app-key/--app-installation-id (or one side's --from-/--to- ones)."""

    app_id: int | None = None
    app_key: str | None = None
    installation_id: int | None = None


def app_options_from(namespace: argparse.Namespace, prefix: str = "") -> AppOptions:
    return AppOptions(getattr(namespace, f"{prefix}app_id"), getattr(namespace, f"{prefix}app_key"),
                      getattr(namespace, f"{prefix}app_installation_id"))


def orgs_named(org_flags: Sequence[str] | None) -> tuple[str, ...]:
    """--org as given, each once (GitHub's names are case-insensitive); () for --all-orgs."""
    seen: dict[str, str] = {}
    for org in org_flags or ():
        seen.setdefault(org.lower(), org)
    return tuple(seen.values())


# --- from options to Settings and credentials (reads the environment) ----------------------

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


def effective(given: Connection, config: Config | None, flag: str) -> Any:
    """A flag's value if given, else the config file's, else None (the built-in default)."""
    value = getattr(given, flag)
    if value is not None:
        return value
    if config is None:
        return None
    section, field = FLAG_TO_CONFIG[flag]
    found = getattr(getattr(config, section), field)
    return (not found) if flag == "no_wait" else found


def settings_from(given: Connection, config: Config | None = None,
                  url_from: str = "--api-url") -> Settings:
    """`url_from` names where the API URL was given, for its errors."""
    defaults = Settings()
    allow_http = bool(effective(given, config, "allow_insecure_http"))
    api_url_given = effective(given, config, "api_url")
    if api_url_given is None:
        url_from = "GITHUB_API_URL" if os.environ.get("GITHUB_API_URL") else url_from
    elif config is not None and given.api_url is None:
        url_from = "api_url"
    api_url = api_url_from(api_url_given)
    if (problem := api_url_problem(api_url, allow_http)) is not None:
        raise UsageError(f"{url_from}: {problem}")
    concurrency = effective(given, config, "concurrency")
    return Settings(
        api_url=api_url,
        concurrency=defaults.concurrency if concurrency is None else concurrency,
        writes_per_minute=effective(given, config, "writes_per_minute"),
        points_per_minute=effective(given, config, "points_per_minute"),
        wait_for_reset=not effective(given, config, "no_wait"),
        timeout=given.timeout,
        ca_bundle=effective(given, config, "ca_bundle"),
        minute=60.0 / given.time_scale if given.time_scale else 60.0,
        key_cache=default_state_path().parent / "public-keys.json" if given.key_cache else None,
        shared_pace=default_state_path().parent / "pace",
    )


def response_cache() -> Path:
    """Where listings and public keys are kept with their ETags between runs (no values)."""
    return default_state_path().parent / "responses.json"


def credentials(app: AppOptions, token_env: str | None, orgs: Sequence[str], settings: Settings,
                *, all_orgs: bool = False) -> str | TokenSource:
    """The App of --app-id/--app-key (installation tokens for --org), else a token from the
    chain of find_token."""
    if all_orgs and app.installation_id is not None:
        raise UsageError("--app-installation-id names one installation; --all-orgs means "
                         "every installation of the App")
    return app_or_token("--", app, token_env, "--token-env", orgs[0] if len(orgs) == 1 else orgs,
                        settings, app_hint="use a GitHub App with --app-id and --app-key",
                        every_installation=all_orgs)


def app_or_token(flags: str, app: AppOptions, token_env: str | None, token_flag: str,
                 org: str | Sequence[str], settings: Settings, app_hint: str, *,
                 every_installation: bool = False) -> str | TokenSource:
    """The App of {flags}app-id/{flags}app-key acting in `org`, else a token from the chain of
    find_token. The key is read here: a bad one is a usage error before any request."""
    if app.app_id is None and app.app_key is None:
        if app.installation_id is not None:
            raise UsageError(f"{flags}app-installation-id needs {flags}app-id and {flags}app-key")
        return find_token(token_env, api_url=settings.api_url, named_by=token_flag,
                          app_hint=app_hint)
    if app.app_id is None or app.app_key is None:
        raise UsageError(f"{flags}app-id and {flags}app-key go together")
    if token_env:
        raise UsageError(f"{token_flag} and {flags}app-id are two ways to authenticate: "
                         "choose one")
    if not app.app_key.startswith(("env:", "file:", "cmd:")):
        raise UsageError(f"{flags}app-key takes file:PATH, env:VAR or cmd:COMMAND")
    try:
        key = parse_source(app.app_key)
    except SourceError as exc:
        raise UsageError(f"{flags}app-key: {exc}") from None
    config = GitHubConfig(app=AppAuth(app.app_id, key, app.installation_id))
    return token_source_for(config, None, org, settings.api_url,
                            ssl_context_for(settings.ca_bundle), key_named=f"{flags}app-key",
                            every_installation=every_installation)


# --- state and report files ------------------------------------------------------------------

def open_state(path: str | Path | None) -> State:
    state = State.open(path or default_state_path())
    for warning in state.warnings:
        structlog.get_logger("syncer.state").warning("state", message=warning)
    return state


def locked_unless_dry_run(dry_run: bool, state: State) -> AbstractContextManager[None]:
    """The state's lock for a run that writes, taken before its value is read and before its
    first request: a second run on the same state is told at once (exit 4), without running
    a value command or reading the whole org."""
    return nullcontext() if dry_run else state.lock()


def check_report_path(path: str | None) -> None:
    """--report PATH where a file can be made: refused before the first request, so a run
    that writes never ends with its report unwritable."""
    if not path:
        return
    target = Path(path).expanduser()
    folder = target.parent
    if target.is_dir():
        raise UsageError(f"--report {path}: a folder; give a file path")
    if not folder.is_dir():
        raise UsageError(f"--report {path}: no such folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"--report {path}: its folder is not writable")


def write_report(path: str | None, built: dict[str, Any]) -> None:
    """--report PATH: the run's JSON report, written whole."""
    if path:
        from ..observe import report

        report.write(path, built)
