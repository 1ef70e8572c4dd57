"""`syncer migrate --from SRC --to DST`: copy an organisation's secrets and variables to
another organisation, also across hosts. The machinery is syncer.migrate (see its run.py
for the modes); it is imported when the command runs, not when the parser is built."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TextIO

import structlog

from ..core.model import Outcome, Result
from ..core.plan import Change
from ..exits import Exit, UsageError
from . import Output, Request, Session, options
from .options import env_name_argument, name_argument, positive_int

if TYPE_CHECKING:
    from ..execution.connect import Settings
    from ..execution.interrupt import Interrupt
    from ..github.client import TokenSource
    from ..migrate.export import Exported
    from ..migrate.plan_out import PlanWritten
    from ..migrate.report import ReportItem, Written
    from ..migrate.run import Done, Migrated, MigrateRequest

log = structlog.get_logger("syncer.migrate")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Copy the shape of SRC's Actions, Dependabot and Codespaces secrets "
                          "to DST, also across hosts; values come from --values, or from a "
                          "workflow that seals them in SRC (--export-workflow, --import-sealed; "
                          "not Codespaces secrets, which no workflow can read).")
    options.add_output(parser)
    options.add_connection(parser)
    options.add_resume(parser)
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
    g.add_argument("--format", choices=("text", "json"), default="text",
                   help="report on stdout for people (text) or machines (json)")
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
    options.add_report(parser)


@dataclass(frozen=True)
class Side:
    """One side's own connection options (--from-… or --to-…), over the shared ones."""

    api_url: str | None
    token_env: str | None
    app: options.AppOptions


@dataclass(frozen=True)
class MigrateCommandRequest(Request):
    migration: MigrateRequest
    connection: options.Connection  # the shared --api-url, --token-env, pacing, …
    sides: dict[str, Side]  # "from", "to"


def request_from(namespace: argparse.Namespace) -> MigrateCommandRequest:
    """The request the arguments make, or UsageError naming every problem at once."""
    from ..migrate.run import MigrateRequest

    imports = namespace.import_sealed or ()
    request = MigrateRequest(
        source=namespace.source, dest=namespace.dest, repos=tuple(namespace.repos),
        names=tuple(namespace.names), values=namespace.values,
        allow_partial=namespace.allow_partial, dry_run=namespace.dry_run,
        plan_out=namespace.plan_out, export_workflow=namespace.export_workflow,
        import_sealed=tuple(imports), state=namespace.state, fresh=namespace.fresh,
        format=namespace.format, quiet=namespace.quiet, report=namespace.report,
        verbose=namespace.verbose)
    problems = []
    modes = [m for m, on in (("--plan-out", request.plan_out),
                             ("--export-workflow", request.export_workflow),
                             ("--import-sealed", request.import_sealed)) if on]
    if len(modes) > 1:
        problems.append(f"{' and '.join(modes)} cannot be combined")
    if modes and request.values:
        problems.append(f"--values cannot be combined with {modes[0]}")
    if not modes and not request.values and not request.dry_run and not request.allow_partial:
        problems.append("--values FILE is required to migrate secrets (--allow-partial without "
                        "it copies the variables only; or --plan-out FILE to get a template, or "
                        "--export-workflow / --import-sealed)")
    if problems:
        raise UsageError("; ".join(problems))
    sides = {side: Side(getattr(namespace, f"{side}_api_url"),
                        getattr(namespace, f"{side}_token_env"),
                        options.app_options_from(namespace, f"{side}_"))
             for side in ("from", "to")}
    return MigrateCommandRequest(request, options.connection_from(namespace), sides)


async def run(request: MigrateCommandRequest, session: Session) -> Done:
    """Each side's settings and token: --from-/--to- flags, else the shared ones."""

    def settings_for(side: str) -> Settings:
        own_url = request.sides[side].api_url
        return options.settings_from(
            replace(request.connection, api_url=own_url or request.connection.api_url),
            url_from=f"--{side}-api-url" if own_url else "--api-url")

    def token_for(side: str) -> str | TokenSource:
        own = request.sides[side]
        return options.app_or_token(
            f"--{side}-", own.app, own.token_env or request.connection.token_env,
            f"--{side}-token-env" if own.token_env else "--token-env",
            request.migration.source if side == "from" else request.migration.dest,
            settings_for(side),
            app_hint=f"use a GitHub App with --{side}-app-id and --{side}-app-key")

    return await run_with(request.migration, settings_for=settings_for, token_for=token_for,
                          stop=session.stop)


async def run_with(migration: MigrateRequest, *, settings_for: Callable[[str], Settings],
                   token_for: Callable[[str], str | TokenSource],
                   stop: Interrupt | None = None) -> Done:
    """The migration with each side's settings and token as given (tests give their own):
    its local inputs checked, then the state opened (and locked, when it writes) here."""
    from ..migrate.run import prepare, run_migrate

    options.check_report_path(migration.report)
    prepared = prepare(migration, settings_for)
    state = options.open_state(migration.state) if migration.uses_state else None
    with state.lock() if state is not None and migration.locks_state else nullcontext():
        return await run_migrate(prepared, state, settings_for=settings_for,
                                 token_for=token_for, stop=stop)


# --- the report ------------------------------------------------------------------------------

def report(request: MigrateCommandRequest, result: Done, output: Output) -> int:
    """The report of what was done on stdout (text or JSON), the summary in the log, the
    --report file of a migration; the exit code from what the report holds."""
    from ..migrate.export import Exported
    from ..migrate.plan_out import PlanWritten
    from ..migrate.report import FAILED
    from ..migrate.run import Migrated

    migration = request.migration
    if isinstance(result, PlanWritten):
        _print_plan_written(migration, result, output.stdout)
        return int(Exit.OK)
    if isinstance(result, Exported):
        _print_exported(migration, result, output.stdout)
        return int(Exit.OK)
    if isinstance(result, Migrated):
        log.info("summary", source=migration.source, dest=migration.dest,
                 drifted=sum(i.change is Change.DRIFTED for i in result.plan),
                 **result.summary_event())
        _print_report(migration, result, result.notes, output.stdout,
                      source=f"{migration.source} ({result.source_host})")
        code = report_exit_code(result.items, result.outcomes)
        if migration.report:
            options.write_report(migration.report, _run_report(code, result))
        return int(code)
    items = result.items  # an import's
    log.info("summary", dest=migration.dest, stale=sum(i.stale_key for i in items),
             **result.summary_event())
    notes = []
    if any(i.status == FAILED and i.stale_key for i in items):
        notes.append("stale key_id: DST's key changed since the export; run the export "
                     "workflow again and import its new output")
    _print_report(migration, result, notes, output.stdout, title="import")
    return int(report_exit_code(result.items, result.outcomes))


def report_exit_code(items: Iterable[ReportItem], outcomes: Iterable[Outcome] = ()) -> Exit:
    """1 when anything is missing or failed, or a stop (a spent budget) kept writes back."""
    from ..migrate.report import PROBLEMS

    stopped = any(o.result is Result.SKIPPED for o in outcomes)
    return Exit.FAILED if stopped or any(i.status in PROBLEMS for i in items) else Exit.OK


def _print_report(migration: MigrateRequest, result: Written, notes: Sequence[str],
                  stdout: TextIO, *, source: str | None = None, title: str = "migrate") -> None:
    """The report on stdout; `source` None for an import, whose report names DST only."""
    from ..migrate.report import render_report_json, render_report_text

    dest = f"{migration.dest} ({result.dest_host})"
    if migration.format == "json":
        print(render_report_json(result.items, {"command": title, "from": source, "to": dest,
                                                "notes": list(notes)}, result.cost), file=stdout)
    else:
        header = f"{title} {source} -> {dest}" if source else f"{title} into {dest}"
        print(render_report_text(result.items, header, notes, cost=result.cost,
                                 verbose=migration.verbose), file=stdout)


def _run_report(code: int, result: Migrated) -> dict[str, Any]:
    from ..migrate.report import report_counts
    from ..observe import report as run_report

    plan = list(result.plan)
    return run_report.build(
        "migrate", code, result.summary, plan=plan,
        targets=run_report.plan_targets(plan, list(result.outcomes)),
        extra_counts={"migration": run_report.snake_keys(report_counts(result.items))})


def _print_plan_written(migration: MigrateRequest, done: PlanWritten, stdout: TextIO) -> None:
    if migration.format == "json":
        print(json.dumps({"plan": done.plan, "template": done.template, "counts": done.counts,
                          "left_behind": list(done.left_behind)}, indent=2), file=stdout)
        return
    counts = ", ".join(f"{k} {v}" for k, v in done.counts.items())
    print(f"plan of {migration.source} -> {migration.dest}: {counts}", file=stdout)
    print(f"wrote {done.plan} and the values template {done.template}", file=stdout)
    for why in done.left_behind:
        print(f"  left behind: {why}", file=stdout)
    for t in done.targets:
        if not t.writable:
            print(f"  missing target: {t.name} in {t.scope}: {t.missing}", file=stdout)
        for repo in t.unmapped:
            print(f"  missing selected repository: {t.name} in {t.scope}: {repo}", file=stdout)


def _print_exported(migration: MigrateRequest, done: Exported, stdout: TextIO) -> None:
    if migration.format == "json":
        print(json.dumps({
            "workflow": done.workflow,
            "jobs": [{"id": j.id, "repository": j.repository, "environment": j.environment,
                      "secrets": [t.name for t in j.targets]} for j in done.jobs],
            "not_exported": [{"name": s.target.name, "scope": str(s.target.scope),
                              "key": s.target.key, "why": s.why} for s in done.skipped],
            "left_behind": list(done.left_behind),
        }, indent=2), file=stdout)
        return
    print(f"wrote {done.workflow}: {len(done.jobs)} jobs sealing {done.exported} secrets "
          f"of {migration.source} for {migration.dest}", file=stdout)
    for job in done.jobs:
        where = job.repository + (f" environment {job.environment}" if job.environment else "")
        print(f"  {job.id} in {where}: {', '.join(t.name for t in job.targets)}", file=stdout)
    for why in done.left_behind:
        print(f"left behind: {why}", file=stdout)
    if done.skipped:
        print(f"not exported ({len(done.skipped)}):", file=stdout)
        for s in done.skipped:
            print(f"  {s.target.name} in {s.target.scope}  [{s.target.key}]: {s.why}",
                  file=stdout)
