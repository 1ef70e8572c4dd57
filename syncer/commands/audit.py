"""`syncer audit --org ORG`: which secret lives where, and how old it is. Reads only.

An inventory of the org secrets (visibility, number of selected repositories), every
repository's Actions and Dependabot secrets and every environment's secrets, with updated_at
and age in days; flags shadowing (a repository or environment secret with the name of an org
secret, which workflows there use instead) and repositories at GitHub's 100-secret limit.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase

from ..discover import for_each, org_selection, sees_org_secret, select_repos, unless_unreadable
from ..exits import UsageError
from ..github import errors
from ..github.api import Repo, SecretInfo, SecretsAPI
from ..model import OrgSelection, Scope
from ..resume import where

COLUMNS = ("app", "kind", "scope", "name", "visibility", "selected_repos", "created_at",
           "updated_at", "age_days", "flags")
SCOPE_LIMIT = {"org": 1000, "repo": 100, "env": 100}
AUDITED_APPS = ("actions", "dependabot")


@dataclass(frozen=True)
class Found:
    """One secret as listed, before judgement."""

    scope: Scope
    info: SecretInfo
    selection: OrgSelection | None = None  # org secrets: who may read it


@dataclass(frozen=True)
class Row:
    app: str
    kind: str
    scope: str
    name: str
    visibility: str
    selected_repos: int | None
    created_at: str | None
    updated_at: str | None
    age_days: int | None
    flags: tuple[str, ...] = field(default=())


def _selected_count(selection: OrgSelection | None) -> int | None:
    if selection is None or selection.visibility != "selected":
        return None
    return len(selection.repository_ids)


def _age_days(stamp: str | None, now: datetime) -> int | None:
    if not stamp:
        return None
    # a server clock a little ahead of ours would make a fresh secret -1 days old
    return max(0, (now - datetime.fromisoformat(stamp.replace("Z", "+00:00"))).days)


def audit_rows(found: Sequence[Found], repos: Sequence[Repo], now: datetime, *,
               name_glob: str | None = None, older_than: int | None = None) -> list[Row]:
    """Judge an inventory: ages, shadowing, scopes at their limit; then filter. Pure."""
    org_secrets = {(f.scope.app, f.info.name): f.selection for f in found
                   if f.scope.kind == "org"}
    by_name = {r.name: r for r in repos}
    per_scope: dict[Scope, int] = {}
    for f in found:
        per_scope[f.scope] = per_scope.get(f.scope, 0) + 1
    rows = []
    for f in found:
        flags = []
        shadowed = org_secrets.get((f.scope.app, f.info.name))
        if f.scope.kind != "org" and shadowed is not None \
                and sees_org_secret(shadowed, by_name.get(f.scope.repo or "")):
            flags.append("shadows-org-secret")
        if per_scope[f.scope] >= SCOPE_LIMIT[f.scope.kind]:
            flags.append(f"scope-at-limit-{SCOPE_LIMIT[f.scope.kind]}")
        rows.append(Row(f.scope.app, f.scope.kind, where(f.scope), f.info.name,
                        f.info.visibility or "", _selected_count(f.selection), f.info.created_at,
                        f.info.updated_at, _age_days(f.info.updated_at, now), tuple(flags)))
    if name_glob:
        rows = [r for r in rows if fnmatchcase(r.name, name_glob.upper())]
    if older_than is not None:
        rows = [r for r in rows if r.age_days is not None and r.age_days >= older_than]
    return sorted(rows, key=lambda r: (r.kind != "org", r.scope.lower(), r.app, r.name))


@dataclass
class Inventory:
    found: list[Found]
    repos: Sequence[Repo]
    #: repositories GitHub would not show (a 403, a 5xx past every retry), with its answer
    unreadable: list[tuple[str, str]]


async def inventory(api: SecretsAPI, org: str, repos: Sequence[Repo], concurrency: int
                    ) -> Inventory:
    found: list[Found] = []
    unreadable: list[tuple[str, str]] = []
    for app in AUDITED_APPS:
        scope = Scope.of_org(org, app)  # type: ignore[arg-type]
        for info in await api.secrets(scope):
            found.append(Found(scope, info, await org_selection(api, scope, info)))

    async def look_in(repo: Repo) -> None:
        with unless_unreadable(unreadable, f"{org}/{repo.name}"):
            found.extend(await _in_repo(api, org, repo))

    await for_each(repos, look_in, concurrency)
    return Inventory(found, repos, sorted(unreadable))


async def _in_repo(api: SecretsAPI, org: str, repo: Repo) -> list[Found]:
    found = []
    for app in AUDITED_APPS:
        scope = Scope.of_repo(org, repo.name, app, repo.id)  # type: ignore[arg-type]
        found += [Found(scope, info) for info in await api.secrets(scope)]
    for env in await api.environments(org, repo.name):
        scope = Scope.of_env(org, repo.name, env, repo.id)
        found += [Found(scope, info) for info in await api.secrets(scope)]
    return found


async def run_audit(api: SecretsAPI, org: str, *, repos_globs: Sequence[str], concurrency: int,
                    include_archived: bool = True) -> Inventory:
    try:
        repos = select_repos([r async for r in api.org_repos(org)], repos_globs,
                             include_archived=include_archived)
        return await inventory(api, org, repos, concurrency)
    except errors.NotFound as exc:
        raise UsageError(exc.message) from None


def render(rows: Iterable[Row], fmt: str) -> str:
    rows = list(rows)
    if fmt == "json":
        return json.dumps([{**asdict(r), "flags": list(r.flags)} for r in rows], indent=2)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for r in rows:
            writer.writerow([_cell(getattr(r, c)) for c in COLUMNS])
        return out.getvalue().rstrip("\n")
    return _table(rows)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ";".join(value)
    return str(value)


def _table(rows: Sequence[Row]) -> str:
    shown = ("app", "scope", "name", "visibility", "selected_repos", "updated_at", "age_days",
             "flags")
    cells = [[_cell(getattr(r, c)) for c in shown] for r in rows]
    widths = [max([len(h)] + [len(row[i]) for row in cells]) for i, h in enumerate(shown)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(shown, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
              for row in cells]
    shadowing = sum("shadows-org-secret" in r.flags for r in rows)
    lines.append(f"{len(rows)} secrets, {shadowing} shadowing an org secret")
    return "\n".join(lines)
