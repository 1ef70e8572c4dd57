"""Saved plans: `plan --out FILE` keeps the reviewed plan; `apply FILE` writes exactly it.

A saved plan holds no values: for each target its planned change, the keyed fingerprint of the
value it would write (as the state file keeps them: useless without the state's key), what
GitHub showed there (updated_at, an org secret's visibility and selection), and the config's
path with a digest of its content. Applying it plans again and compares: if the config, a
value's fingerprint or what GitHub shows changed since, nothing is written (exit 2), and the
refusal names what changed. The comparison is pure.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.model import OrgSelection
from ..core.plan import PlanItem
from ..exits import UsageError
from .atomic import write_atomically

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
    """Whole or not at all: a temporary file renamed into place (a file the user asked for:
    the umask's mode, not a private one)."""
    data = (text + "\n").encode()
    write_atomically(Path(path), lambda out: out.write(data), private=False, durable=False)


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


class Difference(enum.Enum):
    """How one target differs from the saved plan."""

    TARGET_GONE = "target_gone"
    VALUE_CHANGED = "value_changed"
    CHANGED_ON_GITHUB = "changed_on_github"
    SELECTION_CHANGED_ON_GITHUB = "selection_changed_on_github"
    SELECTION_WANTED_CHANGED = "selection_wanted_changed"
    PLANNED_OTHERWISE = "planned_otherwise"
    TARGET_NEW = "target_new"


@dataclass(frozen=True)
class Changed:
    """One target that is not as the saved plan saw it."""

    what: Difference
    secret: str
    scope: str
    message: str  # for people: the target and what changed

    def __str__(self) -> str:
        return self.message


class PlanChanged(UsageError):
    """The saved plan no longer holds: nothing is written (exit 2)."""

    def __init__(self, message: str, changes: Sequence[Changed]) -> None:
        super().__init__(message)
        self.changes = list(changes)


def _compare(old: Record, new: Record | None) -> tuple[Difference, str] | None:
    if new is None:
        return Difference.TARGET_GONE, "no longer a target"
    if old["fingerprint"] != new["fingerprint"]:
        return Difference.VALUE_CHANGED, "the value changed"
    if old["github_updated_at"] != new["github_updated_at"]:
        return (Difference.CHANGED_ON_GITHUB, "GitHub shows it updated at "
                f"{new['github_updated_at'] or 'no time (gone)'}, the plan saw "
                f"{old['github_updated_at'] or 'none'}")
    if old["github_selection"] != new["github_selection"]:
        return (Difference.SELECTION_CHANGED_ON_GITHUB,
                "its visibility or selected repositories changed on GitHub")
    if old["selection"] != new["selection"]:
        return (Difference.SELECTION_WANTED_CHANGED,
                "the visibility or selection wanted changed")
    if old["change"] != new["change"]:
        return Difference.PLANNED_OTHERWISE, f"planned {old['change']}, now {new['change']}"
    return None


def differences(saved: Sequence[Record], now: Sequence[Record]) -> list[Changed]:
    """What changed between the saved plan and the plan made now, one per target. Pure."""
    before = {_key(r): r for r in saved}
    after = {_key(r): r for r in now}
    found = []
    for key, old in before.items():
        if (differs := _compare(old, after.get(key))) is not None:
            what, why = differs
            found.append(Changed(what, old["secret"], old["scope"], f"{_where(old)}: {why}"))
    found += [Changed(Difference.TARGET_NEW, r["secret"], r["scope"],
                      f"{_where(r)}: a new target") for key, r in after.items()
              if key not in before]
    return found


def refusal(path: str, found: Sequence[Changed]) -> str:
    """The one-line refusal naming the first few differences and counting them all."""
    named = "; ".join(str(c) for c in found[:_NAMED])
    more = f"; and {len(found) - _NAMED} more" if len(found) > _NAMED else ""
    return (f"{path}: GitHub or the values changed since the plan was saved ({len(found)} "
            f"target{'s' * (len(found) != 1)}: {named}{more}); nothing was written: run plan "
            "--out again and review it")


def check(saved: SavedPlan, path: str, plan: Sequence[PlanItem]) -> None:
    """Raise PlanChanged (exit 2) unless the plan made now is the saved one."""
    found = differences(saved.items, [record(i) for i in plan])
    if found:
        raise PlanChanged(refusal(path, found), found)
