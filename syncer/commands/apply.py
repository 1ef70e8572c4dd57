"""`syncer apply -c FILE` (or `syncer apply PLAN`): make GitHub match the config, writing only
what differs. The reading and planning are shared with plan (syncer.commands.sync)."""

from __future__ import annotations

import argparse
from collections import Counter

import structlog

from ..core.plan import Change
from ..exits import Exit, UsageError
from ..observe import report as run_report
from ..observe.planview import plan_text
from ..observe.summary import show
from . import Output, options
from .sync import SyncRequest, SyncRun, add_config_arguments, run, sync_request_from

__all__ = ["add_arguments", "report", "request_from", "run"]

log = structlog.get_logger("syncer.apply")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Write every secret and variable of the config that is missing, changed, or drifted "
        "(changed on GitHub by someone else; a variable's value is compared exactly); skip what "
        "is already right; record each write in the state file. Exit 0 in sync, 1 if targets "
        "failed. Given a plan saved by `plan --out`, write exactly it, or nothing (exit 2) if "
        "the config, a value or GitHub changed since.")
    add_config_arguments(parser, config_required=False)
    parser.add_argument("plan_file", nargs="?", metavar="PLAN",
                        help="a plan saved by `syncer plan --out` (instead of -c)")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="json: the report (as --report writes it) on stdout")
    options.add_report(parser)


def request_from(namespace: argparse.Namespace) -> SyncRequest:
    problems = []
    if namespace.plan_file is None and namespace.config is None:
        problems.append("apply needs -c CONFIG, or a PLAN saved by plan --out")
    if namespace.plan_file is not None and namespace.config is not None:
        problems.append("apply takes a saved PLAN or -c CONFIG, not both (the plan names its "
                        "config)")
    if namespace.plan_file is not None and namespace.prune:
        problems.append("--prune is part of the saved plan: plan --out again with --prune")
    if problems:
        raise UsageError("; ".join(problems))
    return sync_request_from(namespace, apply=True)


def report(request: SyncRequest, done: SyncRun, output: Output) -> int:
    if done.refused is not None:
        changes = [{"code": c.what.value, "secret": c.secret, "scope": c.scope,
                    "message": c.message} for c in done.refused.changes]
        options.write_report(request.report, run_report.build(
            "apply", Exit.USAGE, None, config=done.config_info, saved_plan_changes=changes))
        print(f"syncer: error: {done.refused}", file=output.stderr)
        return int(Exit.USAGE)
    result = done.result
    assert result is not None and result.summary is not None
    changed = [i for i in result.plan if i.change is not Change.UNCHANGED]
    if changed and not done.shown:
        print(plan_text(result.plan), file=output.stderr)  # lists the changes, counts them all
    drifted = sum(i.change is Change.DRIFTED for i in result.plan)
    missing = sum(i.change is Change.MISSING_TARGET for i in result.plan)
    unreadable = sum(i.change is Change.UNREADABLE for i in result.plan)
    log.info("summary", drifted=drifted, unchanged=len(result.plan) - len(changed),
             missing_targets=missing, unreadable_targets=unreadable, **result.summary.as_event())
    unchanged: Counter[tuple[str, str]] = Counter((i.name, i.scope.kind) for i in result.plan
                                                  if i.change is Change.UNCHANGED)
    show(result.summary, output.stderr, unchanged)
    if missing:  # not among the outcomes: nothing was attempted for them
        print(f"missing {missing}: the config names environments or repositories that do not "
              "exist (listed above); nothing was written there", file=output.stderr)
    if unreadable:
        print(f"unreadable {unreadable}: GitHub would not show what these scopes hold (listed "
              "above, with why); nothing was written there", file=output.stderr)
    code = Exit.OK if result.complete else Exit.FAILED
    detailed = request.detailed_exitcode and code == Exit.OK
    undone = any(i.undoes_a_change_on_github for i in result.plan)
    code = Exit.CHANGES if detailed and undone else code
    built = run_report.build("apply", code, result.summary, plan=result.plan,
                             targets=run_report.plan_targets(result.plan, result.outcomes,
                                                             result.earlier),
                             unread=run_report.unread_from_plan(result.plan),
                             config=done.config_info)
    options.write_report(request.report, built)
    if request.format == "json":
        print(run_report.dumps(built), file=output.stdout)
    return code
