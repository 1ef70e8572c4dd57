"""Saved plans: `plan --out FILE` keeps the reviewed plan; `apply FILE` writes exactly it.

A saved plan holds no values: for each target its planned change, the keyed fingerprint of the
value it would write (as the state file keeps them: useless without the state's key), what
GitHub showed there (updated_at, an org secret's visibility and selection), and the config's
path with a digest of its content. Applying it plans again and compares: if the config, a
value's fingerprint or what GitHub shows changed since, nothing is written (exit 2), and the
refusal names what changed. The comparison is pure.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .exits import UsageError
from .model import OrgSelection
from .plan import PlanItem

FORMAT = "syncer_saved_plan"
FORMAT_VERSION = 1
_NAMED = 3  # differences named in the one-line refusal (all are counted)

Record = dict[str, Any]


@dataclass(frozen=True)
class SavedPlan:
    config_path: str
    config_sha256: str
    state_path: str
    api_url: str
    prune: bool
    items: list[Record]


def config_digest(path: str) -> str:
    """sha256 of the config file's bytes."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror})") from None


def _selection(selection: OrgSelection | None) -> Record | None:
    if selection is None:
        return None
    return {"visibility": selection.visibility, "repository_ids": list(selection.repository_ids)}


def record(item: PlanItem) -> Record:
    """One target of the plan as saved (and as compared): no value, only its fingerprint."""
    return {"change": item.change.value.replace(" ", "_"), "secret": item.name,
            "scope": str(item.scope), "kind": item.scope.kind, "app": item.scope.app,
            "fingerprint": item.desired.fingerprint if item.desired else None,
            "selection": _selection(item.desired.selection if item.desired else None),
            "github_updated_at": item.github_updated_at,
            "github_selection": _selection(item.github_selection)}


def to_json(plan: Sequence[PlanItem], *, config_path: str, state_path: str, api_url: str,
            prune: bool) -> str:
    saved = {"format": FORMAT, "format_version": FORMAT_VERSION,
             "config": {"path": str(Path(config_path).resolve()),
                        "sha256": config_digest(config_path)},
             "state": str(Path(state_path).resolve()), "api_url": api_url, "prune": prune,
             "items": [record(i) for i in plan]}
    return json.dumps(saved, indent=2)


def save(path: str, text: str) -> None:
    """Whole or not at all: a temporary file renamed into place."""
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.write_text(text + "\n")
    os.replace(temporary, target)


def load(path: str) -> SavedPlan:
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror})") from None
    except ValueError:
        raise UsageError(f"{path}: not a saved plan (not JSON)") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UsageError(f"{path}: not a saved plan (made by syncer plan --out)")
    if data.get("format_version") != FORMAT_VERSION:
        raise UsageError(f"{path}: saved plan format_version {data.get('format_version')!r}; "
                         f"this syncer reads {FORMAT_VERSION}: run plan --out again")
    try:
        return SavedPlan(str(data["config"]["path"]), str(data["config"]["sha256"]),
                         str(data["state"]), str(data["api_url"]), bool(data["prune"]),
                         list(data["items"]))
    except (KeyError, TypeError):
        raise UsageError(f"{path}: saved plan is incomplete: run plan --out again") from None


def _key(rec: Record) -> tuple[str, str, str, str]:
    return rec["kind"], rec["scope"], rec["app"], rec["secret"]


def _where(rec: Record) -> str:
    return f"{rec['secret']} in {rec['scope']}"


def differences(saved: Sequence[Record], now: Sequence[Record]) -> list[str]:
    """What changed between the saved plan and the plan made now, one phrase per target. Pure."""
    before = {_key(r): r for r in saved}
    after = {_key(r): r for r in now}
    found = []
    for key, old in before.items():
        new = after.get(key)
        if new is None:
            found.append(f"{_where(old)}: no longer a target")
        elif old["fingerprint"] != new["fingerprint"]:
            found.append(f"{_where(old)}: the value changed")
        elif old["github_updated_at"] != new["github_updated_at"]:
            found.append(f"{_where(old)}: GitHub shows it updated at "
                         f"{new['github_updated_at'] or 'no time (gone)'}, the plan saw "
                         f"{old['github_updated_at'] or 'none'}")
        elif old["github_selection"] != new["github_selection"]:
            found.append(f"{_where(old)}: its visibility or selected repositories changed "
                         "on GitHub")
        elif old["selection"] != new["selection"]:
            found.append(f"{_where(old)}: the visibility or selection wanted changed")
        elif old["change"] != new["change"]:
            found.append(f"{_where(old)}: planned {old['change']}, now {new['change']}")
    found += [f"{_where(r)}: a new target" for key, r in after.items() if key not in before]
    return found


def refusal(path: str, found: Sequence[str]) -> str:
    """The one-line refusal naming the first few differences and counting them all."""
    named = "; ".join(found[:_NAMED])
    more = f"; and {len(found) - _NAMED} more" if len(found) > _NAMED else ""
    return (f"{path}: GitHub or the values changed since the plan was saved ({len(found)} "
            f"target{'s' * (len(found) != 1)}: {named}{more}); nothing was written: run plan "
            "--out again and review it")


def check(saved: SavedPlan, path: str, plan: Sequence[PlanItem]) -> None:
    """Raise UsageError (exit 2) unless the plan made now is the saved one."""
    found = differences(saved.items, [record(i) for i in plan])
    if found:
        raise UsageError(refusal(path, found))
