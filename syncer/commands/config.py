"""`syncer config schema` and `syncer config check -c FILE`: the config without GitHub."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from ..config.json_schema import schema_json
from ..config.load import load_config
from ..exits import Exit
from . import Output, Request, Session


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Work with the config file without a token or network."
    parser.set_defaults(log_format="auto", log_level=None, quiet=True)
    actions = parser.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    actions.add_parser("schema", help="print the config's JSON Schema (2020-12), for editors",
                       description="Print a JSON Schema (2020-12) of the config file, made from "
                       "the keys syncer's checker knows. Editors use it with a first line "
                       "such as #:schema ./syncer.schema.json.")
    check = actions.add_parser("check", help="check a config file (no token, no network)",
                               description="Check FILE as plan and apply would, without a "
                               "token, a value or a request: exit 0 when it is good, 2 with "
                               "every problem (file:line: key: message) when not.")
    check.add_argument("-c", "--config", required=True, metavar="FILE", help="the TOML config")


@dataclass(frozen=True)
class ConfigRequest(Request):
    action: str  # schema | check
    config: str | None = None


def request_from(namespace: argparse.Namespace) -> ConfigRequest:
    return ConfigRequest(namespace.config_command, getattr(namespace, "config", None))


async def run(request: ConfigRequest, session: Session) -> str:
    """The schema, or the checked config's counts; a bad config raises ConfigError (exit 2,
    every problem on its own line)."""
    if request.action == "schema":
        return schema_json()
    assert request.config is not None
    config = load_config(request.config)
    counted = [f"{n} {what}{'s' * (n != 1)}" for n, what in
               ((len(config.secrets), "secret"), (len(config.variables), "variable"))
               if n or what == "secret"]
    return f"{request.config}: ok ({', '.join(counted)})\n"


def report(request: ConfigRequest, result: str, output: Output) -> int:
    output.stdout.write(result)
    return int(Exit.OK)
