"""`syncer variable set NAME --org ORG --value TEXT`: `set` for an Actions or agent variable,
whose value is no secret: shown, and given on the command line if one likes."""

from __future__ import annotations

import argparse

from ..core.model import VARIABLE_APPS
from . import set as set_command
from .set import report, request_from, run

__all__ = ["add_arguments", "report", "request_from", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Actions and Copilot agent variables: not secret, their values are "
                          "shown and may be given on the command line.")
    actions = parser.add_subparsers(dest="variable_command", required=True, metavar="ACTION")
    variable_set = actions.add_parser(
        "set", help="set one variable across an org",
        description="Set one variable in every matching repository of an org (or in an "
        "environment of each, or once at org level): created where it is missing, updated "
        "where it exists, one write each.")
    set_command.add_one_name_arguments(variable_set, "variable", VARIABLE_APPS)
    variable_set.add_argument("--value", metavar="TEXT",
                              help="the value itself (a variable is not secret); or --value-from")

