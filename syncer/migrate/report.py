"""The migration report: one item per target with its status, the counts, what the run cost,
and the report as text for people and JSON for programs. Pure."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.model import Outcome, Result, Scope
from ..core.plan import Change, PlanItem
from ..observe.summary import Summary, stop_text
from .mapping import Target, scope_json

# Report statuses, in the order reports show them.
MISSING_VALUE = "missing value"
MISSING_TARGET = "missing target"
# an org secret's selected repository DST lacks: the secret itself has its own item
MISSING_SELECTED = "missing selected repository"
FAILED = "failed"
NOT_WRITTEN = "not written"
MIGRATED = "migrated"
UNCHANGED = "unchanged"
STATUSES = (MISSING_VALUE, MISSING_TARGET, MISSING_SELECTED, FAILED, NOT_WRITTEN, MIGRATED,
            UNCHANGED)
#: statuses that make a run end with exit code 1 (syncer/commands/migrate.py decides it)
PROBLEMS = (MISSING_VALUE, MISSING_TARGET, MISSING_SELECTED, FAILED)


@dataclass(frozen=True, slots=True)
class ReportItem:
    status: str
    scope: Scope  # in DST
    name: str
    key: str  # the values-file key of its source secret
    why: str = ""
    #: a sealed import failed on a key id DST no longer accepts: its export must be run again
    stale_key: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "target": self.scope.target, "name": self.name,
                "scope": str(self.scope),
                **{k: v for k, v in scope_json(self.scope).items()}, "key": self.key,
                "why": self.why}


def build_report(targets: Sequence[Target], missing_values: Iterable[Target],
                 plan: Iterable[PlanItem], outcomes: Iterable[Outcome], *,
                 resumed: Iterable[tuple[Scope, str]] = (),
                 not_written_why: str = "not written") -> list[ReportItem]:
    """One item per target, and one per selected repository DST lacks, grouped by status.

    `plan` holds what the planner decided for each target that has a value; `outcomes` what the
    engine did with each write it attempted; `resumed` the writes an interrupted run had done
    (its journal says so). A planned write with neither was not written (`not_written_why` says
    why: a dry run, or a run blocked by missing items).
    """
    key_for = {(t.scope, t.name): t.key for t in targets}
    done = {(o.action.scope, o.action.name): o for o in outcomes}
    earlier = set(resumed)
    items: list[ReportItem] = []
    for t in targets:
        if t.missing is not None:
            items.append(ReportItem(MISSING_TARGET, t.scope, t.name, t.key, t.missing))
        for repo in t.unmapped:
            items.append(ReportItem(MISSING_SELECTED, t.scope, t.name, t.key,
                                    f"selected repository {repo} does not exist in {t.scope.org}"))
    items += [ReportItem(MISSING_VALUE, t.scope, t.name, t.key, "no value given")
              for t in missing_values]
    for plan_item in plan:
        scope, name = plan_item.scope, plan_item.name
        key = key_for.get((scope, name), name)
        outcome = done.get((scope, name))
        if plan_item.change is Change.UNCHANGED:
            items.append(ReportItem(UNCHANGED, scope, name, key))
        elif plan_item.change is Change.MISSING_TARGET:
            items.append(ReportItem(MISSING_TARGET, scope, name, key, plan_item.why))
        elif plan_item.change is Change.UNREADABLE:
            items.append(ReportItem(FAILED, scope, name, key, plan_item.why))
        elif outcome is None and (scope, name) in earlier:
            items.append(ReportItem(MIGRATED, scope, name, key, "by the interrupted run"))
        elif outcome is None:
            items.append(ReportItem(NOT_WRITTEN, scope, name, key,
                                    f"{not_written_why} (would {plan_item.change.value})"))
        elif outcome.result in (Result.CREATED, Result.UPDATED):
            items.append(ReportItem(MIGRATED, scope, name, key, outcome.result.value))
        elif outcome.result is Result.SKIPPED:  # a stop (a signal, a spent budget) kept it back
            items.append(ReportItem(NOT_WRITTEN, scope, name, key, stopped_why(outcome)))
        else:
            items.append(ReportItem(FAILED, scope, name, key,
                                    outcome.error or outcome.result.value))
    order = {s: i for i, s in enumerate(STATUSES)}
    return sorted(items, key=lambda i: order[i.status])


def report_counts(items: Iterable[ReportItem], kind: str | None = None) -> dict[str, int]:
    """Items by status; of one kind ("secret" or "variable") when `kind` is given."""
    counts = {s: 0 for s in STATUSES}
    for item in items:
        if kind is None or item.scope.target == kind:
            counts[item.status] += 1
    return counts


def variable_counts_line(items: Sequence[ReportItem]) -> list[str]:
    """'of which variables: migrated 2, unchanged 1' (non-zero statuses), where any."""
    counts = {s: n for s, n in report_counts(items, "variable").items() if n}
    return [f"of which variables: {', '.join(f'{s} {n}' for s, n in counts.items())}"] \
        if counts else []


def stopped_why(outcome: Outcome) -> str:
    """Why a stop kept a write back ("interrupted", "rate limit budget spent until ...")."""
    return (stop_text(outcome.stopped_by) if outcome.stopped_by else "") or "stopped"


@dataclass(frozen=True, slots=True)
class RunCost:
    """What a run cost, as each of its summaries says it (text, JSON and the log's summary
    event), rounded once so that they agree to the digit."""

    requests: int  # sent to either side
    retries: int
    rate_limit_waits: int
    wait_seconds: float  # waits announced for GitHub's rate limits
    #: wall-clock time during which requests waited for room under the pace; a pacer lets
    #: one request wait at a time, and the two sides are read one after the other, so it never
    #: exceeds `seconds`
    paced_seconds: float
    seconds: float  # since the process started

    def as_json(self) -> dict[str, int | float]:
        return {"requests": self.requests, "retries": self.retries,
                "rate_limit_waits": self.rate_limit_waits,
                "wait_s": round(self.wait_seconds, 2), "paced_s": round(self.paced_seconds, 2),
                "seconds": round(self.seconds, 2)}

    def line(self) -> str:
        """'812 requests, 0 retries, 0 rate-limit waits (0.00 s), paced 95.20 s, 121.31 s'."""
        rounded = self.as_json()
        return (f"{self.requests} requests, {self.retries} retries, {self.rate_limit_waits} "
                f"rate-limit waits ({rounded['wait_s']:.2f} s), paced {rounded['paced_s']:.2f} s,"
                f" {rounded['seconds']:.2f} s since start")


def counts_event(items: Iterable[ReportItem]) -> dict[str, int]:
    """The report's counts as log fields: "not written" → not_written."""
    return {status.replace(" ", "_"): n for status, n in report_counts(items).items()}


def render_report_text(items: Sequence[ReportItem], header: str,
                       notes: Sequence[str] = (), *, cost: RunCost | None = None,
                       verbose: bool = False) -> str:
    """Counts, cost and notes, then every item by status, except unchanged ones unless
    `verbose`: a re-run over thousands of secrets must not print a line for each."""
    counts = report_counts(items)
    lines = [header, ", ".join(f"{s} {n}" for s, n in counts.items()),
             *variable_counts_line(items), *([cost.line()] if cost else []), *notes]
    for status in STATUSES:
        chosen = [i for i in items if i.status == status]
        if not chosen:
            continue
        if status == UNCHANGED and not verbose:
            lines.append(f"{status} ({len(chosen)}): not listed (-v lists them)")
            continue
        lines.append(f"{status} ({len(chosen)}):")
        for item in chosen:
            why = f": {item.why}" if item.why and status != MIGRATED else ""
            done = f" ({item.why})" if status == MIGRATED else ""
            lines.append(f"  {item.name} in {item.scope}{done}  [{item.key}]{why}")
    return "\n".join(lines)


def render_report_json(items: Sequence[ReportItem], head: Mapping[str, Any],
                       cost: RunCost | None = None) -> str:
    """Counts, cost and every item, unchanged ones too: a program filters by status."""
    return json.dumps({**head, "counts": report_counts(items),
                       "variable_counts": report_counts(items, "variable"),
                       **({"run": cost.as_json()} if cost else {}),
                       "items": [i.as_json() for i in items]}, indent=2)



@dataclass(frozen=True)
class Written:
    """What a run that writes secrets to DST (a migration, an import) did, for its report."""

    items: tuple[ReportItem, ...]
    outcomes: tuple[Outcome, ...]  # what the engine did with each write it attempted
    cost: RunCost
    #: the engine's counts, timed from the process start: for --report and the log's summary
    summary: Summary
    dest_host: str

    def summary_event(self) -> dict[str, object]:
        """The log's summary event says what the report says: the engine's own fields (created,
        updated, pace changes) under the report's counts and the run's cost."""
        return {**self.summary.as_event(), **counts_event(self.items), **self.cost.as_json()}
