"""Desired × Actual × State → Plan. Pure: no I/O, no clock.

For each secret the config wants in a scope:
- absent on GitHub                                   → create
- present, our fingerprint, GitHub's updated_at not newer than what we recorded after our
  last write, same visibility and selection         → unchanged (no write)
- present, our fingerprint, but GitHub's updated_at newer → drifted (someone changed it): rewrite
- present, our fingerprint, but not the visibility or selection syncer wrote (and the config
  still wants)                                       → drifted
- absent, though syncer wrote this value there       → drifted (someone deleted it)
- present otherwise (new value, or never written by us) → update
Secrets GitHub has that the config does not declare, in scopes the config manages, are pruned
only when asked, and only under the prune prefix when one is set. Pruning a secret syncer never
wrote undoes a change made on GitHub, as rewriting drift does (--detailed-exitcode says so).

A variable's value is returned by GitHub's listing, so its drift is exact rather than timed: the
listed value's keyed fingerprint (`Existing.fingerprint`) is compared with the config's.
- same value (and visibility and selection)           → unchanged, whoever wrote it
- another value, where syncer wrote the config's      → drifted (changed on GitHub)
- another value otherwise                             → update
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from .model import Action, Op, OrgSelection, Scope
from .names import MAX_VARIABLES

#: Seconds GitHub's updated_at may run ahead of the Date of our own write's answer
#: (different servers' clocks) before we call it someone else's change.
DRIFT_TOLERANCE_S = 5


class Change(enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    DRIFTED = "drifted"
    UNCHANGED = "unchanged"
    PRUNE = "prune"
    MISSING_TARGET = "missing target"
    UNREADABLE = "unreadable"  # GitHub did not say what the scope holds: nothing is done there


WRITES = (Change.CREATE, Change.UPDATE, Change.DRIFTED, Change.PRUNE)


class Reason(enum.Enum):
    """Why a target is planned as it is: a code for machines (the JSON report), beside `why`."""

    ABSENT = "absent"  # create: GitHub has no such secret there
    ENVIRONMENT_CREATED_FIRST = "environment_created_first"
    NOT_WRITTEN_BY_SYNCER = "not_written_by_syncer"
    VALUE_CHANGED = "value_changed"
    SELECTION_CHANGED = "selection_changed"  # the config changed who may read it
    CHANGED_ON_GITHUB = "changed_on_github"
    DELETED_ON_GITHUB = "deleted_on_github"
    SELECTION_CHANGED_ON_GITHUB = "selection_changed_on_github"
    IN_SYNC = "in_sync"
    NOT_DECLARED = "not_declared"
    SCOPE_MISSING = "scope_missing"
    ENVIRONMENT_MISSING = "environment_missing"
    REPOSITORY_MISSING = "repository_missing"
    SCOPE_UNREADABLE = "scope_unreadable"
    ORG_UNREADABLE = "org_unreadable"


@dataclass(frozen=True, slots=True)
class Desired:
    scope: Scope
    name: str
    fingerprint: str
    selection: OrgSelection | None = None  # org secrets only
    value_key: int = 0  # which value to write (index of the declaring [[secret]])


@dataclass(frozen=True, slots=True)
class Existing:
    updated_at: str | None
    selection: OrgSelection | None = None
    #: a variable's listed value, fingerprinted as the state fingerprints what syncer writes
    #: (the value itself is not kept); None for a secret, whose value GitHub never shows
    fingerprint: str | None = None


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A scope whose secrets could not be read (a 403, a 5xx after every retry)."""

    reason: str
    org_missing: bool = False  # the organisation itself was not found (404)


@dataclass(frozen=True, slots=True)
class Remembered:
    """What the state file knows of our last write there."""

    fingerprint: str
    updated_at: str | None
    selection: str | None = None  # OrgSelection.as_text() of what we wrote (org secrets)


@dataclass(frozen=True, slots=True)
class PlanItem:
    change: Change
    scope: Scope
    name: str
    desired: Desired | None = None
    why: str = ""
    github_updated_at: str | None = None  # of the secret as it is on GitHub now, if it exists
    written_by_syncer: bool = False  # a prune: the state remembers writing this secret
    reason: Reason | None = None
    github_selection: OrgSelection | None = None  # of an org secret as it is on GitHub now
    #: whether the listing showed the target on GitHub (None: not read): a variable's write is
    #: then one request, a POST to create or a PATCH to update
    exists: bool | None = None

    @property
    def creates_environment(self) -> bool:
        """Its environment is missing and is created before the secret is written."""
        return self.reason is Reason.ENVIRONMENT_CREATED_FIRST

    @property
    def undoes_a_change_on_github(self) -> bool:
        """Drift rewritten, or a secret syncer never wrote pruned (not a config change)."""
        return self.change is Change.DRIFTED or (self.change is Change.PRUNE
                                                 and not self.written_by_syncer)

    def action(self) -> Action:
        op = Op.DELETE if self.change is Change.PRUNE else Op.PUT
        selection = self.desired.selection if self.desired else None
        exists = self.exists if self.scope.target == "variable" else None
        return Action(op, self.scope, self.name, selection, self.change.value, exists)


Actual = Mapping[Scope, Mapping[str, Existing] | Unreadable | None]  # None: it does not exist
Memory = Callable[[Scope, str], Remembered | None]


def make_plan(desired: Iterable[Desired], actual: Actual, remembered: Memory, *,
              prune: bool = False, prune_prefix: str | None = None) -> list[PlanItem]:
    plan: list[PlanItem] = []
    declared: dict[Scope, set[str]] = {}
    for want in desired:
        declared.setdefault(want.scope, set()).add(want.name)
        plan.append(_decide(want, actual.get(want.scope), remembered(want.scope, want.name)))
    if prune:
        plan.extend(_prunes(actual, declared, prune_prefix, remembered))
    return plan


def _decide(want: Desired, existing_in_scope: Mapping[str, Existing] | Unreadable | None,
            memory: Remembered | None) -> PlanItem:
    if isinstance(existing_in_scope, Unreadable):
        return PlanItem(Change.UNREADABLE, want.scope, want.name, want,
                        f"could not be read: {existing_in_scope.reason}",
                        reason=Reason.SCOPE_UNREADABLE)
    if existing_in_scope is None:
        missing = "environment" if want.scope.kind == "env" else "scope"
        return PlanItem(Change.MISSING_TARGET, want.scope, want.name, want,
                        f"{missing} {want.scope} does not exist",
                        reason=Reason.ENVIRONMENT_MISSING if missing == "environment"
                        else Reason.SCOPE_MISSING)
    existing = existing_in_scope.get(want.name)
    if existing is None:
        if memory is not None and _same_as_written(want, memory):
            return PlanItem(Change.DRIFTED, want.scope, want.name, want,
                            "deleted on GitHub after syncer wrote it",
                            reason=Reason.DELETED_ON_GITHUB, exists=False)
        return PlanItem(Change.CREATE, want.scope, want.name, want, reason=Reason.ABSENT,
                        exists=False)

    def item(change: Change, reason: Reason, why: str = "") -> PlanItem:
        return PlanItem(change, want.scope, want.name, want, why, existing.updated_at,
                        reason=reason, github_selection=existing.selection, exists=True)

    if existing.fingerprint is not None:  # a variable: GitHub showed its value
        if existing.fingerprint != want.fingerprint:
            if memory is not None and memory.fingerprint == want.fingerprint:
                return item(Change.DRIFTED, Reason.CHANGED_ON_GITHUB, "value changed on GitHub")
            if memory is not None:
                return item(Change.UPDATE, Reason.VALUE_CHANGED, "value changed")
            return item(Change.UPDATE, Reason.NOT_WRITTEN_BY_SYNCER,
                        "not written by syncer before")
    elif memory is None:
        return item(Change.UPDATE, Reason.NOT_WRITTEN_BY_SYNCER, "not written by syncer before")
    elif memory.fingerprint != want.fingerprint:
        return item(Change.UPDATE, Reason.VALUE_CHANGED, "value changed")
    elif changed_after(existing.updated_at, memory.updated_at):
        return item(Change.DRIFTED, Reason.CHANGED_ON_GITHUB,
                    f"changed on GitHub at {existing.updated_at}")
    if want.selection is not None and existing.selection != want.selection:
        if memory is None:
            return item(Change.UPDATE, Reason.SELECTION_CHANGED,
                        "visibility or selected repositories differ")
        if memory.selection == want.selection.as_text():  # ours, and the config's still
            return item(Change.DRIFTED, Reason.SELECTION_CHANGED_ON_GITHUB,
                        "visibility or selected repositories changed on GitHub")
        return item(Change.UPDATE, Reason.SELECTION_CHANGED,
                    "visibility or selected repositories changed")
    return item(Change.UNCHANGED, Reason.IN_SYNC)


def _same_as_written(want: Desired, memory: Remembered) -> bool:
    """The config still wants what syncer last wrote there: value, and who may read it."""
    return memory.fingerprint == want.fingerprint and (
        want.selection is None or memory.selection == want.selection.as_text())


def _prunes(actual: Actual, declared: Mapping[Scope, set[str]], prefix: str | None,
            remembered: Memory) -> Iterable[PlanItem]:
    for scope, names in declared.items():
        found = actual.get(scope)
        if found is None or isinstance(found, Unreadable):
            continue
        for name in sorted(found.keys() - names):
            if prefix is None or name.startswith(prefix.upper()):
                yield PlanItem(Change.PRUNE, scope, name, why="not declared in the config",
                               written_by_syncer=_ours(found[name], remembered(scope, name)),
                               reason=Reason.NOT_DECLARED, exists=True,
                               github_updated_at=found[name].updated_at,
                               github_selection=found[name].selection)


def _ours(existing: Existing, memory: Remembered | None) -> bool:
    """Syncer's own write, unless someone rewrote it since (a variable: its value is not the
    one syncer wrote)."""
    if memory is None:
        return False
    if existing.fingerprint is not None:
        return existing.fingerprint == memory.fingerprint
    return not changed_after(existing.updated_at, memory.updated_at)


@dataclass(frozen=True, slots=True)
class OverLimit:
    """A scope that would hold more variables than GitHub allows."""

    scope: Scope
    count: int  # what it would hold: those there now and those the config adds
    limit: int

    def __str__(self) -> str:
        return (f"{self.scope} would hold {self.count} variables ({self.count - self.limit} "
                f"more than GitHub's {self.limit}): those there now and those the config adds")


def variables_over_limit(desired: Iterable[Desired], actual: Actual) -> list[OverLimit]:
    """Variable scopes where the variables there now and those the config adds exceed
    GitHub's limit (deletions by pruning are not counted: they may come after the creates)."""
    names: dict[Scope, set[str]] = {}
    for want in desired:
        if want.scope.target == "variable":
            names.setdefault(want.scope, set()).add(want.name)
    over = []
    for scope, wanted in names.items():
        found = actual.get(scope)
        held = wanted | (set(found) if found is not None and not isinstance(found, Unreadable)
                         else set())
        if len(held) > MAX_VARIABLES[scope.kind]:
            over.append(OverLimit(scope, len(held), MAX_VARIABLES[scope.kind]))
    return over


def changed_after(github: str | None, ours: str | None) -> bool:
    """GitHub's updated_at is later than that of our write (beyond the tolerance): someone else
    wrote since. Unknown times say no."""
    if github is None or ours is None:
        return False
    return (_parse(github) - _parse(ours)).total_seconds() > DRIFT_TOLERANCE_S


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def counts(plan: Iterable[PlanItem]) -> dict[str, int]:
    result = {c.value: 0 for c in Change}
    for item in plan:
        result[item.change.value] += 1
    return result
