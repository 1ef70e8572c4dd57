"""What is out there: an org's repositories narrowed by patterns, and the secrets scopes hold."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

import anyio

from ..core.model import App, OrgSelection, Repo, Scope
from ..core.plan import Existing, Unreadable
from ..github import errors
from ..github.api import SecretInfo, SecretsAPI, VariableInfo
from ..github.org_tokens import acting_for

T = TypeVar("T")
#: (scope, name, value) → the value's keyed fingerprint, as the state computes it
ValueFingerprint = Callable[[Scope, str, bytes], str]


async def org_repos(api: SecretsAPI, org: str,
                    on_repo: Callable[[Repo], None] | None = None) -> list[Repo]:
    """Every repository of `org`; `on_repo` sees each as it arrives (a progress line)."""
    repos = []
    async for repo in api.org_repos(org):
        repos.append(repo)
        if on_repo is not None:
            on_repo(repo)
    return repos


async def existing(api: SecretsAPI, scopes: Iterable[Scope], concurrency: int,
                   on_read: Callable[[Scope], None] | None = None,
                   value_fingerprint: ValueFingerprint | None = None,
                   ) -> dict[Scope, dict[str, Existing] | Unreadable | None]:
    """What secrets (or variables) each scope holds now (None where the scope does not exist),
    read concurrently, one listing per scope.

    A variable's value comes with the listing: it is kept only as `value_fingerprint` makes it
    (Existing.fingerprint), so a plan compares values without keeping them.

    Org secrets with `selected` visibility also have their selected repositories read, so a
    plan can tell whether the selection changed. A scope GitHub refuses to show (after every
    retry), or an org it does not know, is Unreadable, and only its own targets go without; a
    rejected token or a spent budget still end the whole run. `on_read` sees each scope once
    it is read (a progress line).
    """
    found: dict[Scope, dict[str, Existing] | Unreadable | None] = {}

    async def read(scope: Scope) -> None:
        with acting_for(scope.org):
            try:
                found[scope] = await _existing_in(api, scope, value_fingerprint)
            except errors.RUN_ENDING:
                raise
            except errors.NotFound:  # from an org scope only (a repo's is None)
                found[scope] = Unreadable(f"organization {scope.org} not found or token "
                                          "lacks access", org_missing=True)
            except errors.GitHubError as exc:
                found[scope] = Unreadable(str(exc))
        if on_read is not None:
            on_read(scope)

    await for_each(dict.fromkeys(scopes), read, concurrency)
    return found


async def for_each(items: Iterable[T], work: Callable[[T], Awaitable[None]],
                   concurrency: int) -> None:
    """`work(item)` for every item, at most `concurrency` at a time."""
    todo = iter(list(items))

    async def worker() -> None:
        for item in todo:
            await work(item)

    try:
        async with anyio.create_task_group() as tg:
            for _ in range(max(1, concurrency)):
                tg.start_soon(worker)
    except BaseExceptionGroup as group:  # one error for the caller (and syncer.failures) to handle
        raise _most_telling(group) from group


def _most_telling(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """A rejected token first (it ends the run), else the first error the workers met (an
    Exception before a cancellation or an interrupt, which may only be its consequence)."""
    leaves: list[BaseException] = []

    def collect(error: BaseException) -> None:
        if isinstance(error, BaseExceptionGroup):
            for inner in error.exceptions:
                collect(inner)
        else:
            leaves.append(error)

    collect(group)
    return next((e for e in leaves if isinstance(e, errors.AuthFailed)),
                next((e for e in leaves if isinstance(e, Exception)), leaves[0]))


async def _existing_in(api: SecretsAPI, scope: Scope, value_fingerprint: ValueFingerprint | None
                       ) -> dict[str, Existing] | None:
    try:
        listed: list[SecretInfo] | list[VariableInfo] = (
            await api.variables(scope) if scope.target == "variable" else await api.secrets(scope))
    except errors.NotFound:
        if scope.kind == "org":
            raise
        return None
    result: dict[str, Existing] = {}
    for info in listed:
        selection = await org_selection(api, scope, info) if scope.kind == "org" else None
        fingerprint = (value_fingerprint(scope, info.name, info.value.encode())
                       if isinstance(info, VariableInfo) and value_fingerprint else None)
        result[info.name] = Existing(info.updated_at, selection, fingerprint)
    return result


async def org_selection(api: SecretsAPI, scope: Scope, info: SecretInfo | VariableInfo
                        ) -> OrgSelection | None:
    """An org secret's visibility, with its selected repository ids when `selected`.

    If the visibility changed since the listing (GitHub answers 409 for the selection of a
    secret no longer `selected`), the secret is read again for what it is now.
    """
    for _ in range(2):
        if not info.visibility:
            return None
        if info.visibility != "selected":
            return OrgSelection(info.visibility, ())  # type: ignore[arg-type]
        try:
            ids = await api.selected_repository_ids(scope, info.name)
            return OrgSelection("selected", tuple(sorted(ids)))
        except errors.Conflict:
            fresh: SecretInfo | VariableInfo | None = (
                await api.variable(scope, info.name) if scope.target == "variable"
                else await api.secret(scope, info.name))
            if fresh is None:
                return None
            info = fresh
    return OrgSelection(info.visibility, ())  # type: ignore[arg-type]


@dataclass(frozen=True)
class Locations:
    """Every place a secret name lives in an org: the org secret (with its visibility and
    selection, to be kept as they are), repository secrets, and environment secrets."""

    org: OrgSelection | None
    repos: list[Scope]
    envs: list[Scope]
    #: repositories GitHub would not show (a 403, a 5xx past every retry), with its answer:
    #: the secret may live there too
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    #: GitHub's updated_at of the secret in each place found
    updated_at: dict[Scope, str | None] = field(default_factory=dict)


async def locate(api: SecretsAPI, org: str, name: str, app: App, repos: Sequence[Repo],
                 concurrency: int) -> Locations:
    """Where `name` exists: one GET for the org secret, one listing per repository, and for
    Actions one environments listing per repository plus one listing per environment."""
    org_scope = Scope.of_org(org, app)
    info = await api.secret(org_scope, name)
    selection = await org_selection(api, org_scope, info) if info is not None else None
    repo_hits: list[Scope] = []
    env_hits: list[Scope] = []
    unreadable: list[tuple[str, str]] = []
    updated_at = {org_scope: info.updated_at} if info is not None else {}

    def found_in(scope: Scope, secrets: list[SecretInfo]) -> bool:
        found = next((s for s in secrets if s.name == name), None)
        if found is not None:
            updated_at[scope] = found.updated_at
        return found is not None

    async def look_in(repo: Repo) -> None:
        with unless_unreadable(unreadable, f"{org}/{repo.name}"):
            await look_in_repo(repo)

    async def look_in_repo(repo: Repo) -> None:
        scope = Scope.of_repo(org, repo.name, app, repo.id)
        if found_in(scope, await api.secrets(scope)):
            repo_hits.append(scope)
        if app != "actions":
            return
        for env in await api.environments(org, repo.name):
            env_scope = Scope.of_env(org, repo.name, env, repo.id)
            if found_in(env_scope, await api.secrets(env_scope)):
                env_hits.append(env_scope)

    await for_each(repos, look_in, concurrency)
    return Locations(selection, sorted(repo_hits, key=_place), sorted(env_hits, key=_place),
                     sorted(unreadable), updated_at)


@contextmanager
def unless_unreadable(unreadable: list[tuple[str, str]], place: str) -> Iterator[None]:
    """Note `place` with GitHub's answer when reading it fails on its own (a 403, a 5xx past
    every retry); a rejected token or a spent budget still ends the whole reading."""
    try:
        yield
    except errors.RUN_ENDING:
        raise
    except errors.GitHubError as exc:
        unreadable.append((place, str(exc)))


def _place(scope: Scope) -> tuple[str, str]:
    return (scope.repo or "").lower(), scope.env or ""
