"""migrate's command-line options, in a module of their own: building the parser for any
command must not load the migration machinery (~10 ms of every run's start-up)."""

from __future__ import annotations

import argparse

from ..core.names import env_name_argument, name_argument, positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """migrate's own options; cli.py adds the shared connection and output options."""
    g = parser.add_argument_group("migration")
    g.add_argument("--from", dest="source", required=True, metavar="SRC_ORG", type=name_argument,
                   help="organisation to copy secrets and variables from (read only)")
    g.add_argument("--to", dest="dest", required=True, metavar="DST_ORG", type=name_argument,
                   help="organisation to write them to")
    g.add_argument("--from-api-url", metavar="URL", help="SRC's API URL (default: --api-url)")
    g.add_argument("--to-api-url", metavar="URL", help="DST's API URL (default: --api-url)")
    g.add_argument("--from-token-env", metavar="NAME", type=env_name_argument,
                   help="environment variable with SRC's token (default: the usual token chain)")
    g.add_argument("--to-token-env", metavar="NAME", type=env_name_argument,
                   help="environment variable with DST's token (default: the usual token chain)")
    for side, org in (("from", "SRC"), ("to", "DST")):
        g.add_argument(f"--{side}-app-id", type=positive_int, metavar="ID",
                       help=f"a GitHub App installed in {org}, instead of a token")
        g.add_argument(f"--{side}-app-key", metavar="SOURCE",
                       help="where that App's private key is: file:PATH, env:VAR or cmd:COMMAND")
        g.add_argument(f"--{side}-app-installation-id", type=positive_int, metavar="ID",
                       help=f"its installation in {org} (default: looked up)")
    g.add_argument("--repos", action="append", default=[], metavar="GLOB", type=name_argument,
                   help="only these SRC repositories' secrets (repeatable; org secrets always)")
    g.add_argument("--name", dest="names", action="append", default=[], metavar="GLOB",
                   type=name_argument,
                   help="only secrets and variables whose names match (repeatable; "
                   "case-insensitive, e.g. 'NPM_*')")
    if not _has_option(parser, "--state"):  # cli.py may add it with its shared state options
        g.add_argument("--state", metavar="PATH",
                       help="state file (default: $XDG_STATE_HOME/syncer/state.json)")
    if not _has_option(parser, "--fresh"):
        g.add_argument("--fresh", action="store_true",
                       help="ignore an interrupted migration instead of resuming it")
    if not _has_option(parser, "--format"):
        g.add_argument("--format", choices=("text", "json"), default="text",
                       help="report on stdout for people (text) or machines (json)")
    if not _has_option(parser, "--verbose"):
        g.add_argument("-v", "--verbose", action="store_true",
                       help="list unchanged secrets too (by default they are only counted)")
    g.add_argument("--values", metavar="FILE",
                   help="secrets' values: .env, .toml or .json; keys like "
                   "actions:repo:REPO:NAME (or dependabot:, codespaces:, agents:), or NAME for "
                   "every secret of that name (variables are copied with SRC's values)")
    g.add_argument("--allow-partial", action="store_true",
                   help="migrate what can be migrated even when values or targets are missing "
                   "(without --values: the variables only)")
    g.add_argument("--dry-run", action="store_true", help="plan the migration, write nothing")
    mode = g.add_mutually_exclusive_group()
    mode.add_argument("--plan-out", metavar="FILE",
                      help="write the plan (JSON) and a values template (.values.toml), then stop")
    mode.add_argument("--export-workflow", metavar="FILE",
                      help="write a workflow for SRC that seals each Actions secret with "
                      "DST's key (a workflow cannot read Dependabot, Codespaces or agents "
                      "secrets)")
    mode.add_argument("--import-sealed", metavar="FILE", action="append",
                      help="write the export workflow's ciphertexts to DST (file or directory; "
                      "repeatable)")


def _has_option(parser: argparse.ArgumentParser, option: str) -> bool:
    return any(option in action.option_strings for action in parser._actions)
