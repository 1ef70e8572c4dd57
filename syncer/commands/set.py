"""`syncer set NAME --org ORG --value-from SOURCE`: one secret, written across orgs,
repositories, environments, or once at org level. `syncer variable set` is the same command
for a variable (see syncer.commands.variable); which targets, and writing them, is
syncer.commands.one_name."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

from ..core.model import APPS
from ..exits import Exit
from ..observe.summary import show
from . import Output, Request, Session
from . import options as o
from .one_name import SetRequest, SetResult, parse_request, read_value, read_variable_value, run_set


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Set one secret in every matching repository of an org (or in an "
                          "environment of each, or once at org level).")
    add_one_name_arguments(parser, "secret", APPS)


def add_one_name_arguments(parser: argparse.ArgumentParser, what: str, apps: Sequence[str]) -> None:
    """`set` and `variable set`: one name, written across orgs, repositories or environments."""
    parser.set_defaults(target=what, value=None)
    o.add_writing_in_orgs(parser, f"the {what}'s name (stored upper-case)")
    parser.add_argument("--value-from", metavar="SOURCE",
                        help="env:VAR, file:PATH, cmd:COMMAND, or - for standard input")
    parser.add_argument("--repos", action="append", default=[], metavar="GLOB",
                        type=o.name_argument,
                        help="only repositories whose name matches (repeatable)")
    parser.add_argument("--env", metavar="ENV", type=o.name_argument,
                        help=f"set an environment {what} in each repository")
    parser.add_argument("--org-level", action="store_true", help=f"set one org {what} instead")
    parser.add_argument("--visibility", choices=("all", "private", "selected"),
                        help=f"with --org-level: the org {what}'s visibility (default: an "
                        f"existing org {what} keeps its own, a new one is private; selected = "
                        "the repositories matched by --repos)")
    parser.add_argument("--app", choices=apps, default="actions",
                        help=f"which {what}s (default actions)")
    o.add_archived_dry_run_report(
        parser, archived="also archived repositories (GitHub makes them read-only)",
        dry_run="list the targets, write nothing")


@dataclass(frozen=True)
class SetCommandRequest(Request):
    write: SetRequest  # what to write, where
    connection: o.Connection
    app: o.AppOptions
    state: str | None
    fresh: bool
    report: str | None


def request_from(namespace: argparse.Namespace) -> SetCommandRequest:
    """`set`'s request, and `variable set`'s (its parser says `target` and adds --value)."""
    write = parse_request(
        namespace.name, o.orgs_named(namespace.org), namespace.value_from,
        repos=tuple(namespace.repos), env=namespace.env, org_level=namespace.org_level,
        visibility=namespace.visibility, app=namespace.app,
        include_archived=namespace.include_archived, dry_run=namespace.dry_run,
        all_orgs=namespace.all_orgs, target=namespace.target, literal=namespace.value)
    return SetCommandRequest(write, o.connection_from(namespace), o.app_options_from(namespace),
                             namespace.state, namespace.fresh, namespace.report)


async def run(request: SetCommandRequest, session: Session) -> SetResult:
    write = request.write
    o.check_report_path(request.report)
    settings = o.settings_from(request.connection)
    token = o.credentials(request.app, request.connection.token_env, write.orgs if write.org
                          else (), settings, all_orgs=write.all_orgs)
    state = o.open_state(request.state)
    with o.locked_unless_dry_run(write.dry_run, state):
        # a dry run reads no value: a cmd: source may mint a credential
        value = None
        if write.target == "variable" and not write.dry_run:
            value = read_variable_value(write)
        elif not write.dry_run:
            assert write.source is not None
            value = read_value(write.source)
        return await run_set(write, value, settings, token, state, fresh=request.fresh,
                             show_progress=session.show_progress, stop=session.stop)


def report(request: SetCommandRequest, result: SetResult, output: Output) -> int:
    from ..observe import report as run_report

    write = request.write
    for scope in result.missing:  # repositories without the --env environment
        print(f"missing  {write.name} in {scope}: environment {write.env!r} not found in "
              f"{scope.full_repo}; nothing written there", file=output.stderr)
    if not write.dry_run:
        show(result.summary, output.stderr)
    code = int(Exit.OK if result.complete else Exit.FAILED)
    o.write_report(request.report, run_report.build(
        "set", code, result.summary,
        targets=run_report.write_targets(result.summary.outcomes,
                                         run_report.WriteReason.REQUESTED)))
    return code

