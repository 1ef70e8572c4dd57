"""Command line: parse arguments, call one command, map what went wrong to an exit code."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import anyio

from . import __version__
from .engine import RunAborted
from .exits import AuthError, Exit, UsageError
from .github.pacing import DEFAULT_POINTS_PER_MINUTE, MAX_CONCURRENCY
from .model import APPS
from .observe import logs
from .observe.summary import render
from .runtime import Settings, api_url_from, find_token


def _concurrency(text: str) -> int:
    value = _positive_int(text)
    if value > MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(f"at most {MAX_CONCURRENCY} (GitHub's limit on requests in flight)")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    out = common.add_argument_group("output")
    out.add_argument("--log-format", choices=("auto", "json", "console"), default="auto",
                     help="JSON lines, or key=value for people (auto: JSON unless stderr is a terminal)")
    out.add_argument("--log-level", choices=logs.LEVELS, default="info")
    out.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    return common


def _connection_options() -> argparse.ArgumentParser:
    conn = argparse.ArgumentParser(add_help=False)
    g = conn.add_argument_group("GitHub")
    g.add_argument("--api-url", help="API base URL (default: $GITHUB_API_URL or https://api.github.com; "
                   "Enterprise Server: https://HOST/api/v3)")
    g.add_argument("--ca-bundle", metavar="PEM", help="trust this CA bundle (private CA)")
    g.add_argument("--concurrency", type=_concurrency, default=16,
                   help=f"targets in progress at once (default 16, at most {MAX_CONCURRENCY})")
    g.add_argument("--points-per-minute", type=_non_negative, default=DEFAULT_POINTS_PER_MINUTE,
                   help=f"pace requests under GitHub's secondary limit (default {DEFAULT_POINTS_PER_MINUTE}; "
                   "0 turns pacing off, e.g. on an Enterprise Server with limits off)")
    g.add_argument("--no-wait", action="store_true",
                   help="when the hourly rate limit is spent, stop and list what was not written "
                   "instead of waiting for the reset")
    g.add_argument("--timeout", type=_non_negative, default=30.0, help="seconds per request (default 30)")
    # fakehub compresses time for tests and benchmarks; the client must compress its minute alike.
    g.add_argument("--time-scale", type=_non_negative, default=1.0, help=argparse.SUPPRESS)
    return conn


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="syncer", description="Keep GitHub Actions secrets in sync across whole organisations.")
    parser.add_argument("--version", action="version", version=f"syncer {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # Each subcommand gets its own copies: argparse shares parent actions, defaults included.
    p = sub.add_parser("set", parents=[_common_options(), _connection_options()], help="set one secret across an org",
                       description="Set one secret in every matching repository of an org "
                       "(or in an environment of each, or once at org level).")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--org", required=True)
    p.add_argument("--value-from", metavar="SOURCE",
                   help="env:VAR, file:PATH, cmd:COMMAND, generate:N, or - for standard input")
    p.add_argument("--repos", action="append", default=[], metavar="GLOB",
                   help="only repositories whose name matches (repeatable)")
    p.add_argument("--env", metavar="ENV", help="set an environment secret in each repository")
    p.add_argument("--org-level", action="store_true", help="set one org secret instead")
    p.add_argument("--visibility", choices=("all", "private", "selected"), default="private",
                   help="org secret visibility (with --org-level; selected = the matched --repos)")
    p.add_argument("--app", choices=APPS, default="actions")
    p.add_argument("--include-archived", action="store_true")
    p.add_argument("--dry-run", action="store_true", help="list the targets, write nothing")

    d = sub.add_parser("demo", parents=[_common_options()], help="a self-contained demo against a local fakehub")
    d.add_argument("--repos", type=_positive_int, default=200, help="repositories (default 200)")
    d.set_defaults(log_level="warning")  # the live count and summary tell the story

    sub.add_parser("fakehub", add_help=False, help="run a local fake GitHub (see syncer fakehub --help)")
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(
        api_url=api_url_from(args.api_url),
        concurrency=args.concurrency,
        points_per_minute=args.points_per_minute,
        wait_for_reset=not args.no_wait,
        timeout=args.timeout,
        ca_bundle=args.ca_bundle,
        minute=60.0 / args.time_scale if args.time_scale else 60.0,
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["fakehub"]:
        from .fakehub.cli import main as fakehub_main

        return fakehub_main(argv[1:])
    args = build_parser().parse_args(argv)
    logs.configure(args.log_format, args.log_level)
    try:
        return int(anyio.run(_dispatch, args))
    except UsageError as exc:
        return _fail(str(exc), Exit.USAGE)
    except AuthError as exc:
        return _fail(str(exc), Exit.AUTH)
    except RunAborted as exc:
        return _fail(str(exc), Exit.AUTH)
    except KeyboardInterrupt:
        return _fail("interrupted", Exit.INTERRUPTED)


async def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "demo":
        from .commands.demo import run_demo

        return await run_demo(args.repos, show_progress=False if args.quiet else None)
    from .commands import set as set_command

    request = set_command.parse_request(
        args.name, args.org, args.value_from, repos=tuple(args.repos), env=args.env,
        org_level=args.org_level, visibility=args.visibility, app=args.app,
        include_archived=args.include_archived, dry_run=args.dry_run)
    token = find_token()
    assert request.source is not None
    value = set_command.read_value(request.source)
    code, summary = await set_command.run_set(request, value, settings_from(args), token,
                                              show_progress=False if args.quiet else None)
    if not request.dry_run:
        print(render(summary), file=sys.stderr)
    return code


def _fail(message: str, code: Exit) -> int:
    print(f"syncer: error: {message}", file=sys.stderr)
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
