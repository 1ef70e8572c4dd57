"""The versioned JSON report of a run (`--report PATH`, `apply --format json`): for machines.

Every key is snake_case and every code a fixed word (the enums here); prose sits only in
`message` fields, for people. The shape is pinned by syncer/report.schema.json and documented
field by field in the README. Secret values never appear: only names, places and counts.
Building the report is pure (plain data in, a dict out); writing it is the one I/O here.
"""

from __future__ import annotations

import enum
import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from .. import __version__
from ..core.model import Action, Outcome, Result, Scope
from ..core.plan import WRITES, Change, PlanItem, Reason
from ..store.atomic import write_atomically
from .summary import Summary, error_text

FORMAT_VERSION = 1
_IMPORTED_AT = time.time()


class TargetOutcome(enum.Enum):
    """What became of one target in this run."""

    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    FAILED = "failed"
    NOT_WRITTEN = "not_written"  # a stop (a signal, a spent budget) left it
    UNCHANGED = "unchanged"  # already as wanted: no write
    PLANNED = "planned"  # plan: apply would write it
    NOT_ATTEMPTED = "not_attempted"  # missing or unreadable: nothing is done there
    DONE_BY_INTERRUPTED_RUN = "done_by_interrupted_run"  # this run resumed it: already written


class Failure(enum.Enum):
    PERMISSION_DENIED = "permission_denied"  # the token lacks a permission for this write
    GITHUB_ERROR = "github_error"  # GitHub answered with an error (see http_status)
    NO_ANSWER = "no_answer"  # no answer after every retry (network, timeout)
    STOPPED = "stopped"  # a stop came first: not attempted


class WriteReason(enum.Enum):
    """Why set and rotate write a target (plan and apply use plan.Reason)."""

    REQUESTED = "requested"  # set: the command names this place
    SECRET_LIVES_HERE = "secret_lives_here"  # rotate: the secret was found here


class Unread(enum.Enum):
    SCOPE_UNREADABLE = "scope_unreadable"
    ORG_UNREADABLE = "org_unreadable"
    REPOSITORY_UNREADABLE = "repository_unreadable"


_RESULT_TO_OUTCOME = {Result.CREATED: TargetOutcome.CREATED, Result.UPDATED: TargetOutcome.UPDATED,
                      Result.DELETED: TargetOutcome.DELETED, Result.FAILED: TargetOutcome.FAILED,
                      Result.SKIPPED: TargetOutcome.NOT_WRITTEN}


def code(change: Change) -> str:
    """A plan change as a snake_case code ("missing target" → "missing_target")."""
    return change.value.replace(" ", "_")


def process_started_at() -> float:
    """Epoch seconds when this process started (Linux: from /proc), else when syncer loaded."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return time.time() - (uptime - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return _IMPORTED_AT


def scope_fields(scope: Scope) -> dict[str, Any]:
    return {"scope": str(scope), "kind": scope.kind, "org": scope.org,
            "repository": scope.repo, "environment": scope.env, "app": scope.app}


def failure_of(outcome: Outcome) -> dict[str, Any] | None:
    if outcome.result not in (Result.FAILED, Result.SKIPPED):
        return None
    kind = (Failure.STOPPED if outcome.result is Result.SKIPPED else
            Failure.PERMISSION_DENIED if outcome.denied else
            Failure.GITHUB_ERROR if outcome.status is not None else Failure.NO_ANSWER)
    return {"code": kind.value, "http_status": outcome.status, "message": error_text(outcome) or ""}


def _target(scope: Scope, name: str, change: Change | None, reason: str | None,
            outcome: TargetOutcome, failure: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"secret": name, **scope_fields(scope),
            "change": code(change) if change is not None else None, "reason": reason,
            "outcome": outcome.value, "failure": failure}


def plan_targets(plan: Sequence[PlanItem], outcomes: Iterable[Outcome] | None,
                 earlier: Iterable[Action] = ()) -> list[dict[str, Any]]:
    """Each planned target with what became of it: `outcomes` None for plan (nothing written);
    `earlier`, the writes an interrupted run this one resumed had done."""
    written = {(o.action.scope, o.action.name): o for o in outcomes or ()}
    before = {(a.scope, a.name) for a in earlier}
    targets = []
    for item in plan:
        reason = item.reason.value if item.reason is not None else None
        if (item.scope, item.name) in before:
            targets.append(_target(item.scope, item.name, item.change, reason,
                                   TargetOutcome.DONE_BY_INTERRUPTED_RUN))
            continue
        done = written.get((item.scope, item.name))
        if done is not None:
            outcome = _RESULT_TO_OUTCOME[done.result]
            targets.append(_target(item.scope, item.name, item.change, reason, outcome,
                                   failure_of(done)))
            continue
        if item.change is Change.UNCHANGED:
            outcome = TargetOutcome.UNCHANGED
        elif item.change in WRITES:
            outcome = TargetOutcome.PLANNED if outcomes is None else TargetOutcome.NOT_WRITTEN
        else:
            outcome = TargetOutcome.NOT_ATTEMPTED
        targets.append(_target(item.scope, item.name, item.change, reason, outcome))
    return targets


def write_targets(outcomes: Iterable[Outcome], reason: WriteReason,
                  earlier: Iterable[tuple[Scope, str]] = ()) -> list[dict[str, Any]]:
    """set and rotate: each target written (or not) with why it was chosen; `earlier`, the
    (scope, secret) an interrupted run this one resumed had written."""
    return [*(_target(o.action.scope, o.action.name, None, reason.value,
                      _RESULT_TO_OUTCOME[o.result], failure_of(o)) for o in outcomes),
            *(_target(scope, name, None, reason.value, TargetOutcome.DONE_BY_INTERRUPTED_RUN)
              for scope, name in earlier)]


def outcome_counts(summary: Summary | None, targets: Sequence[dict[str, Any]]) -> dict[str, int]:
    """The counts of the text summary's first line ('created 3, updated 0, ...'), and the
    targets left unchanged."""
    counts = summary.counts if summary is not None else {}
    return {"created": counts.get(Result.CREATED.value, 0),
            "updated": counts.get(Result.UPDATED.value, 0),
            "deleted": counts.get(Result.DELETED.value, 0),
            "failed": counts.get(Result.FAILED.value, 0),
            "not_written": counts.get(Result.SKIPPED.value, 0),
            "unchanged": sum(t["outcome"] == TargetOutcome.UNCHANGED.value for t in targets)}


def snake_keys(counts: Mapping[str, int]) -> dict[str, int]:
    """{"missing value": 1} → {"missing_value": 1}."""
    return {key.replace(" ", "_"): value for key, value in counts.items()}


def plan_counts(plan: Sequence[PlanItem]) -> dict[str, int]:
    """The counts of the text plan's last line ('plan: create 1, update 0, ...')."""
    counts = {code(c): 0 for c in Change}
    for item in plan:
        counts[code(item.change)] += 1
    return counts


def drift(plan: Sequence[PlanItem]) -> list[dict[str, Any]]:
    """Targets changed on GitHub by someone else, and undeclared secrets syncer never wrote
    that a prune removes."""
    return [{"secret": i.name, **scope_fields(i.scope), "change": code(i.change),
             "reason": i.reason.value if i.reason is not None else None,
             "github_updated_at": i.github_updated_at}
            for i in plan if i.undoes_a_change_on_github]


def unread_from_plan(plan: Sequence[PlanItem]) -> list[dict[str, Any]]:
    seen: dict[Scope, dict[str, Any]] = {}
    for i in plan:
        if i.change is Change.UNREADABLE and i.scope not in seen:
            kind = (Unread.ORG_UNREADABLE if i.reason is Reason.ORG_UNREADABLE
                    else Unread.SCOPE_UNREADABLE)
            seen[i.scope] = {"place": str(i.scope), "code": kind.value, "message": i.why}
    return list(seen.values())


def unread_repositories(places: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    return [{"place": place, "code": Unread.REPOSITORY_UNREADABLE.value, "message": why}
            for place, why in places]


def _rates(rates: tuple[float | None, float | None] | None) -> dict[str, float | None] | None:
    if rates is None:
        return None
    return {"writes_per_minute": rates[0], "points_per_minute": rates[1]}


def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def build(command: str, exit_code: int, summary: Summary | None, *,
          targets: Sequence[dict[str, Any]] = (), plan: Sequence[PlanItem] | None = None,
          unread: Sequence[dict[str, Any]] = (), config: dict[str, str] | None = None,
          extra_counts: Mapping[str, object] | None = None, now: float | None = None,
          started_at: float | None = None,
          saved_plan_changes: Sequence[dict[str, str]] = ()) -> dict[str, Any]:
    """The report of one run, as plain data (see report.schema.json)."""
    now = time.time() if now is None else now
    started_at = process_started_at() if started_at is None else started_at
    s = summary
    return {
        "format_version": FORMAT_VERSION,
        "syncer_version": __version__,
        "command": command,
        "exit_code": int(exit_code),
        "started_at": _stamp(started_at),
        "finished_at": _stamp(now),
        "durations": {"since_process_start_seconds": round(max(now - started_at, 0.0), 3),
                      "run_seconds": round(s.seconds, 3) if s is not None else 0.0},
        "config": config,
        "counts": {"outcomes": outcome_counts(s, targets),
                   "plan": plan_counts(plan) if plan is not None else None,
                   "targets": len(targets), "unread": len(unread), **(extra_counts or {})},
        "targets": list(targets),
        "drift": drift(plan) if plan is not None else [],
        "unread": list(unread),
        "saved_plan_changes": list(saved_plan_changes),
        "requests": {"requests": s.requests if s else 0, "retries": s.retries if s else 0,
                     "rate_limit_waits": s.rate_limit_waits if s else 0,
                     "rate_limit_wait_seconds": round(s.wait_seconds, 3) if s else 0.0},
        "pacing": {"pace": _rates(s.pace if s else None),
                   "current_pace": _rates(s.current_pace if s else None),
                   "changes": [{"at": _stamp(at), "writes_per_minute": w, "points_per_minute": p}
                               for at, w, p in (s.pace_changes if s else [])],
                   "paced_seconds": round(s.paced_seconds, 3) if s else 0.0},
    }


def dumps(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, sort_keys=False)


def write(path: str, report: dict[str, Any]) -> None:
    """Write the report whole or not at all (a temporary file renamed into place)."""
    write_atomically(Path(path), lambda out: out.write((dumps(report) + "\n").encode()),
                     private=False, durable=False)


def schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) every report validates against."""
    return json.loads(resources.files("syncer").joinpath("report.schema.json").read_text())  # type: ignore[no-any-return]
