"""What is out there: an org's repositories narrowed by patterns, and the secrets scopes hold."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase

import anyio

from .github import errors
from .github.api import Repo, SecretsAPI
from .model import OrgSelection, Scope
from .plan import Existing


def matches(name: str, patterns: Sequence[str]) -> bool:
    """Shell-style patterns (`api-*`, `svc-?`), compared case-insensitively as GitHub does names."""
    lowered = name.lower()
    return not patterns or any(fnmatchcase(lowered, p.lower()) for p in patterns)


def select_repos(repos: Iterable[Repo], patterns: Sequence[str] = (), *,
                 include_archived: bool = False, include_forks: bool = True) -> list[Repo]:
    """The repositories a run should write to, in a stable order.

    Archived repositories are skipped unless asked for: GitHub makes them read-only.
    """
    return sorted(
        (r for r in repos
         if matches(r.name, patterns)
         and (include_archived or not r.archived)
         and (include_forks or not r.fork)),
        key=lambda r: r.name.lower(),
    )


async def org_repos(api: SecretsAPI, org: str) -> list[Repo]:
    return [r async for r in api.org_repos(org)]


async def existing(api: SecretsAPI, scopes: Iterable[Scope], concurrency: int
                   ) -> dict[Scope, dict[str, Existing] | None]:
    """What secrets each scope holds now (None where the scope does not exist), read concurrently.

    Org secrets with `selected` visibility also have their selected repositories read, so a
    plan can tell whether the selection changed.
    """
    found: dict[Scope, dict[str, Existing] | None] = {}
    todo = iter(dict.fromkeys(scopes))

    async def worker() -> None:
        for scope in todo:
            found[scope] = await _existing_in(api, scope)

    async with anyio.create_task_group() as tg:
        for _ in range(concurrency):
            tg.start_soon(worker)
    return found


async def _existing_in(api: SecretsAPI, scope: Scope) -> dict[str, Existing] | None:
    try:
        secrets = await api.secrets(scope)
    except errors.NotFound:
        if scope.kind == "org":
            raise
        return None
    result: dict[str, Existing] = {}
    for info in secrets:
        selection = None
        if scope.kind == "org" and info.visibility:
            ids: tuple[int, ...] = ()
            if info.visibility == "selected":
                ids = tuple(sorted(await api.selected_repository_ids(scope, info.name)))
            selection = OrgSelection(info.visibility, ids)  # type: ignore[arg-type]
        result[info.name] = Existing(info.updated_at, selection)
    return result
