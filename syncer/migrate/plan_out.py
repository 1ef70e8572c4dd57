"""--plan-out: the migration plan as JSON (every target and its status, no value) and, beside
it, the values template for the operator to fill in."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from .files import write_file
from .mapping import Inventory, Target, scope_json
from .report import MISSING_TARGET
from .values import template_path, values_template

log = structlog.get_logger("syncer.migrate")


def plan_document(targets: Sequence[Target], *, source: str, source_org: str,
                  dest: str, dest_org: str, unread: Sequence[str] = ()) -> dict[str, Any]:
    """The migration plan as JSON-able data: every target, its status, and no value; `unread`
    says which Codespaces secrets SRC's token could not list (Inventory.unread)."""
    rows = []
    for t in targets:
        row: dict[str, Any] = {
            "status": "ok" if t.writable else MISSING_TARGET,
            "why": t.missing or "",
            "target": t.scope.target,
            "name": t.name,
            "key": t.key,
            "source": {**scope_json(t.source.scope), "scope": str(t.source.scope)},
            "destination": {**scope_json(t.scope), "scope": str(t.scope)},
        }
        if t.selection is not None:
            row["visibility"] = t.selection.visibility
            if t.selection.visibility == "selected":
                row["selected_repositories"] = list(t.source.selected)
                row["selected_repository_ids"] = list(t.selection.repository_ids)
                row["missing_selected_repositories"] = list(t.unmapped)
        rows.append(row)
    writable = sum(t.writable for t in targets)
    return {
        "syncer_migration_plan": 1,
        "from": {"host": source, "org": source_org},
        "to": {"host": dest, "org": dest_org},
        "counts": {"ok": writable, MISSING_TARGET: len(targets) - writable,
                   "missing selected repositories": sum(len(t.unmapped) for t in targets),
                   "variables": sum(t.source.is_variable for t in targets)},
        "left_behind": list(unread),
        "targets": rows,
    }



@dataclass(frozen=True)
class PlanWritten:
    """What --plan-out wrote: the plan, the values template beside it, and what they say."""

    plan: str  # its path
    template: str  # its path
    counts: dict[str, int]  # the plan document's
    left_behind: tuple[str, ...]  # Inventory.unread
    targets: tuple[Target, ...]


def write_plan(path: str, inventory: Inventory, targets: Sequence[Target], *, source: str,
               source_org: str, dest: str, dest_org: str) -> PlanWritten:
    """Write the plan to `path` and the values template beside it (readable by its owner only:
    once filled in it holds secrets); `source` and `dest` are the two hosts."""
    template = template_path(path)
    document = plan_document(targets, source=source, source_org=source_org, dest=dest,
                             dest_org=dest_org, unread=inventory.unread)
    write_file(path, json.dumps(document, indent=2) + "\n")
    write_file(template, values_template(targets, source_org=source_org, dest_org=dest_org),
               private=True)
    log.info("migrate.plan_out", plan=path, template=template, **document["counts"])
    return PlanWritten(path, template, document["counts"], inventory.unread, tuple(targets))
