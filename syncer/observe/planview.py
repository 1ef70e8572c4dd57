"""A plan shown to people (grouped by secret or variable, with counts) or to machines (JSON)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence

from ..core.plan import Change, PlanItem, counts

_SHOWN_PER_SECRET = 50  # unchanged targets are only counted, never listed


def plan_text(plan: Sequence[PlanItem]) -> str:
    by_secret: dict[tuple[str, str], list[PlanItem]] = defaultdict(list)
    for item in plan:
        by_secret[(item.name, item.scope.target)].append(item)
    lines: list[str] = []
    for name, target in sorted(by_secret):  # a secret before a variable of the same name
        items = by_secret[(name, target)]
        tally = counts(items)
        summary = ", ".join(f"{k} {v}" for k, v in tally.items() if v)
        lines.append(f"{name}{' (variable)' if target == 'variable' else ''}: {summary}")
        changed = [i for i in items if i.change is not Change.UNCHANGED]
        for item in changed[:_SHOWN_PER_SECRET]:
            why = f"  ({item.why})" if item.why else ""
            lines.append(f"  {item.change.value:<14} {item.scope}{why}")
        if len(changed) > _SHOWN_PER_SECRET:
            lines.append(f"  ... and {len(changed) - _SHOWN_PER_SECRET} more")
    total = counts(plan)
    lines.append("plan: " + ", ".join(f"{k} {v}" for k, v in total.items()))
    return "\n".join(lines)


def plan_json(plan: Sequence[PlanItem]) -> str:
    items = [{"change": i.change.value, "name": i.name, "scope": str(i.scope),
              "kind": i.scope.kind, "app": i.scope.app, "target": i.scope.target, "why": i.why}
             for i in plan]
    return json.dumps({"counts": counts(plan), "items": items}, indent=2)
