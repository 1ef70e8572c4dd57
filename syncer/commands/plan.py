"""`syncer plan -c FILE`: what apply would change, grouped by secret and variable; never
writes. The reading is shared with apply (syncer.commands.sync)."""

from __future__ import annotations

import argparse

from ..core.plan import WRITES
from ..exits import Exit
from ..observe import report as run_report
from ..observe.planview import plan_json, plan_text
from . import Output, options
from .sync import SyncRequest, SyncRun, add_config_arguments, run, sync_request_from

__all__ = ["add_arguments", "report", "request_from", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Read GitHub and the state file and show, grouped by secret and "
                          "variable, what apply would create, update, rewrite (drifted) or "
                          "prune. Never writes.")
    add_config_arguments(parser, config_required=True)
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="text for people; json: the plan's older JSON (kept as it was; "
                        "--report writes the documented one)")
    parser.add_argument("--out", metavar="PLAN", help="also save the plan (no values) for "
                        "`syncer apply PLAN`, which writes exactly it")
    options.add_report(parser)


def request_from(namespace: argparse.Namespace) -> SyncRequest:
    return sync_request_from(namespace, apply=False)


def report(request: SyncRequest, done: SyncRun, output: Output) -> int:
    result = done.result
    assert result is not None
    print(plan_json(result.plan) if request.format == "json" else plan_text(result.plan),
          file=output.stdout)
    pending = any(i.change in WRITES for i in result.plan)
    code = Exit.OK if result.complete else Exit.FAILED
    detailed = request.detailed_exitcode and code == Exit.OK
    code = Exit.CHANGES if detailed and pending else code
    options.write_report(request.report, run_report.build(
        "plan", code, result.summary, plan=result.plan,
        targets=run_report.plan_targets(result.plan, None),
        unread=run_report.unread_from_plan(result.plan), config=done.config_info))
    return code
