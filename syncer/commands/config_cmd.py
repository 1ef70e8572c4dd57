"""`syncer config schema` and `syncer config check -c FILE`: the config without GitHub."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..config.json_schema import schema_json
from ..config.load import load_config


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("config", help="the config file: its JSON Schema, or a check of one file",
                       description="Work with the config file without a token or network.")
    p.set_defaults(log_format="auto", log_level=None, quiet=True)
    actions = p.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    actions.add_parser("schema", help="print the config's JSON Schema (2020-12), for editors",
                       description="Print a JSON Schema (2020-12) of the config file, made from "
                       "the keys syncer's checker knows. Editors use it with a first line "
                       "such as #:schema ./syncer.schema.json.")
    check = actions.add_parser("check", help="check a config file (no token, no network)",
                               description="Check FILE as plan and apply would, without a "
                               "token, a value or a request: exit 0 when it is good, 2 with "
                               "every problem (file:line: key: message) when not.")
    check.add_argument("-c", "--config", required=True, metavar="FILE", help="the TOML config")


def run(args: argparse.Namespace) -> int:
    """Exit 0; a bad config raises ConfigError (exit 2, every problem on its own line)."""
    if args.config_command == "schema":
        sys.stdout.write(schema_json())
        return 0
    config = load_config(args.config)
    counted = [f"{n} {what}{'s' * (n != 1)}" for n, what in
               ((len(config.secrets), "secret"), (len(config.variables), "variable"))
               if n or what == "secret"]
    print(f"{args.config}: ok ({', '.join(counted)})")
    return 0
