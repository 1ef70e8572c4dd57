"""--plan-out: the migration plan as JSON, every target and its status, no value."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .mapping import Target, scope_json
from .report import MISSING_TARGET


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

