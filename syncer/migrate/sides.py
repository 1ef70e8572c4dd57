"""Reading both sides: SRC's inventory of secrets and variables (with the stores its host or
token lacks left behind, and why), DST's repositories and environments the targets need, and
what the reading cost. GitHub's refusals become the errors the command line reports."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import replace

import structlog

from ..core.model import VARIABLE_APPS, App, Repo, Scope
from ..core.selection import matches, no_match, unmatched_patterns
from ..execution.connect import Run
from ..execution.discover import for_each
from ..exits import AuthError, UsageError
from ..github import errors
from ..github.api import SecretInfo, SecretsAPI, VariableInfo
from ..observe.clock import seconds_since_start
from .mapping import (
    MIGRATED_APPS,
    Destination,
    Inventory,
    SourceSecret,
    Target,
    index_repos,
    repos_needing_environments,
)
from .report import RunCost

log = structlog.get_logger("syncer.migrate")


@contextlib.contextmanager
def reading(side: str) -> Iterator[None]:
    """GitHub's refusals while reading an organisation, as errors syncer.failures maps."""
    try:
        yield
    except errors.AuthFailed as exc:
        raise AuthError(f"{side}: the token was rejected ({exc.message})") from None
    except errors.NotFound as exc:
        why = exc.message if isinstance(exc, errors.OrgNotFound) else \
            f"{exc.message}: organization not found or token lacks access"
        raise UsageError(f"{side}: {why}") from None
    except errors.RateLimited:
        raise  # syncer.failures says until when
    except errors.GitHubError as exc:  # exit 1, as for every command: not a usage problem
        raise errors.GitHubError(f"{side}: {exc}") from None



async def read_source(src: Run, org: str, repo_globs: Sequence[str] = (),
                      name_globs: Sequence[str] = ()) -> Inventory:
    """SRC's secrets and variables in the repositories --repos selects (`repo_globs`), those
    --name selects (`name_globs`); none given: every one."""
    api = src.api
    with reading(f"reading {org}"):
        repos = [r async for r in api.org_repos(org)]
        if unmatched := unmatched_patterns((r.name for r in repos), repo_globs):
            raise UsageError(f"{no_match(org, unmatched)}; nothing was written")
        chosen = sorted((r for r in repos if matches(r.name, repo_globs)),
                        key=lambda r: r.name.lower())
        outside = frozenset(r.name.lower() for r in repos if not matches(r.name, repo_globs))
        names_by_id = {r.id: r.name for r in repos}
        org_infos: list[tuple[Scope, Listed]] = []
        seen_names: set[str] = set()  # every secret and variable name of SRC's chosen places

        def wanted(infos: Sequence[Listed]) -> list[Listed]:
            seen_names.update(i.name for i in infos)
            return [i for i in infos if matches(i.name, name_globs)]

        lister = _Lister(api)
        for scope in _stores(Scope.of_org(org)):
            org_infos += [(scope, i) for i in wanted(await lister.listing(scope))]
        selected: dict[tuple[Scope, str], tuple[str, ...]] = {}

        async def read_selection(item: tuple[Scope, Listed]) -> None:
            scope, info = item
            ids = await api.selected_repository_ids(scope, info.name)
            selected[(scope, info.name)] = tuple(sorted(
                (names_by_id[i] for i in ids if i in names_by_id), key=str.lower))

        await for_each([x for x in org_infos if x[1].visibility == "selected"], read_selection,
                    src.settings.concurrency)
        per_repo: dict[str, list[SourceSecret]] = {}

        async def read_repo(repo: Repo) -> None:
            found: list[SourceSecret] = []
            for scope in _stores(Scope.of_repo(org, repo.name, repo_id=repo.id)):
                found += [SourceSecret(scope, i.name, value=_value_of(i))
                          for i in wanted(await lister.listing(scope))]
            for env in sorted(await _environments(api, org, repo.name), key=str.lower):
                for scope in _stores(Scope.of_env(org, repo.name, env, repo.id)):
                    found += [SourceSecret(scope, i.name, value=_value_of(i))
                              for i in wanted(await lister.listing(scope))]
            per_repo[repo.name] = found

        await for_each(chosen, read_repo, src.settings.concurrency)
    if unmatched := unmatched_patterns(seen_names, name_globs):
        raise UsageError("no secret or variable of " + org + " matches "
                         + " ".join(f"--name {p!r}" for p in unmatched) + "; nothing was written")
    secrets = [SourceSecret(scope, info.name, info.visibility or "private",  # type: ignore[arg-type]
                            selected.get((scope, info.name), ()), _value_of(info))
               for scope, info in org_infos]
    secrets += [s for r in chosen for s in per_repo[r.name]]
    left_out = frozenset(n.upper() for n in seen_names if not matches(n, name_globs))
    for why in lister.unread.values():
        log.warning("migrate.unread", message=why)
    return Inventory(org, tuple(repos), tuple(secrets), outside, left_out,
                     tuple(lister.unread.values()))


Listed = SecretInfo | VariableInfo
#: apps GitHub Enterprise Server lacks (their org listing answers 404 there)
OPTIONAL_APPS: tuple[App, ...] = ("codespaces", "agents")
_STORE_NAMES = {"codespaces": "Codespaces", "agents": "agents", "actions": "Actions"}


def _stores(place: Scope) -> list[Scope]:
    """The secret and variable stores of a place that migrate copies, in inventory order:
    every app's secrets, then the variables (an environment: Actions' of each)."""
    if place.kind == "env":
        return [place, place.variables()]
    return ([replace(place, app=app) for app in MIGRATED_APPS]
            + [replace(place, app=app).variables() for app in VARIABLE_APPS])


def _value_of(info: Listed) -> str | None:
    return info.value if isinstance(info, VariableInfo) else None


class _Lister:
    """SRC's secrets and variables, store by store. Codespaces and agents stores, and variables
    (older Enterprise Servers lack them), are optional: where SRC's host has none (the org's
    listing is 404, as on Enterprise Server) no repository's is asked for; where the token may
    not read them (403: a classic token without the codespace scope, a fine-grained token or
    an App without the permission) the first refusal leaves that level unread (the permission
    is the token's, not the place's), and the report says what was left behind and why."""

    def __init__(self, api: SecretsAPI) -> None:
        self.api = api
        #: (store, scope kind) not asked for
        self.skipped: set[tuple[str, str]] = set()
        #: (store, scope kind) → why it was not read
        self.unread: dict[tuple[str, str], str] = {}

    async def listing(self, scope: Scope) -> Sequence[Listed]:
        if scope.app not in OPTIONAL_APPS and scope.target == "secret":
            return await _secrets_of(self.api, scope)
        if (scope.store, scope.kind) in self.skipped:
            return []
        try:
            return await _listed_of(self.api, scope)
        except errors.NotFound:
            if scope.kind == "org":  # the host has none: nothing to leave behind
                log.info("migrate.no_store", org=scope.org, store=scope.store)
                self.skipped.update((scope.store, kind) for kind in ("org", "repo", "env"))
            return []
        except errors.PermissionDenied as exc:
            self.skipped.add((scope.store, scope.kind))
            where = (f"the organisation {scope.org}" if scope.kind == "org" else
                     f"the repositories of {scope.org}" if scope.kind == "repo" else
                     f"the environments of {scope.org}")
            what = f"{_STORE_NAMES.get(scope.app, scope.app)} {scope.target}s"
            self.unread.setdefault((scope.store, scope.kind),
                                   f"{what} of {where} were not read ({exc}); none of them "
                                   "is migrated")
            return []


async def _listed_of(api: SecretsAPI, scope: Scope) -> list[Listed]:
    found: Sequence[Listed] = (await api.secrets(scope) if scope.target == "secret"
                               else await api.variables(scope))
    return sorted(found, key=lambda i: i.name)


async def _secrets_of(api: SecretsAPI, scope: Scope) -> list[Listed]:
    """A scope's secrets by name; a missing optional scope (Dependabot, an environment) is empty."""
    try:
        return await _listed_of(api, scope)
    except errors.NotFound:
        if scope.kind == "org" and scope.app == "actions":
            raise
        log.info("migrate.no_listing", scope=str(scope), kind=scope.kind, app=scope.app)
        return []


async def _environments(api: SecretsAPI, org: str, repo: str) -> list[str]:
    try:
        return await api.environments(org, repo)
    except errors.NotFound:
        return []


async def read_destination(dst: Run, org: str, inventory: Inventory) -> Destination:
    with reading(f"reading {org}"):
        repos = index_repos([r async for r in dst.api.org_repos(org)])
        environments: dict[str, dict[str, str]] = {}

        async def read(name: str) -> None:
            environments[name.lower()] = {e.lower(): e for e in
                                          await _environments(dst.api, org, name)}

        await for_each(repos_needing_environments(inventory, repos), read, dst.settings.concurrency)
        unavailable: dict[str, str] = {}
        for app in OPTIONAL_APPS:
            if not any(s.scope.app == app for s in inventory.secrets):
                continue
            try:
                await dst.api.secrets(Scope.of_org(org, app))
            except errors.NotFound:
                unavailable[app] = (f"{org} has no {_STORE_NAMES[app]} secrets (404: GitHub "
                                    "Enterprise Server has none)")
            except errors.PermissionDenied:
                pass  # its targets fail on their own, each saying what the token lacks
    return Destination(org, repos, environments, unavailable)


def leave_behind_absent(inventory: Inventory, dest: Destination) -> Inventory:
    """Agents' secrets and variables, where DST's host has none (Enterprise Server), are left
    behind with a note rather than failed: nothing the operator gives could make them land.
    (Codespaces secrets stay missing targets there, as they always were.)"""
    why = dest.unavailable.get("agents")
    if why is None:
        return inventory
    kept = tuple(s for s in inventory.secrets if s.scope.app != "agents")
    note = (f"{len(inventory.secrets) - len(kept)} agents secrets and variables of "
            f"{inventory.org}: {why.replace(' secrets (404', ' secrets or variables (404')}")
    return replace(inventory, secrets=kept, unread=(*inventory.unread, note))


def log_inventory(inventory: Inventory, targets: Sequence[Target]) -> None:
    log.info("migrate.inventory", org=inventory.org, repositories=len(inventory.repos),
             outside_repos=len(inventory.outside),
             secrets=sum(not s.is_variable for s in inventory.secrets),
             variables=sum(s.is_variable for s in inventory.secrets),
             targets=len(targets), missing_targets=sum(not t.writable for t in targets))



def cost_of(*runs: Run) -> RunCost:
    """What the run cost on both sides (one connection counted once), timed from the process
    start: reading the inventory is part of what a person waited for."""
    distinct = list({id(r): r for r in runs}.values())
    return RunCost(requests=sum(r.client.pacer.stats.requests for r in distinct),
                   retries=sum(r.client.stats.retries for r in distinct),
                   rate_limit_waits=sum(r.client.pacer.stats.waits for r in distinct),
                   wait_seconds=sum(r.client.pacer.stats.wait_seconds for r in distinct),
                   paced_seconds=sum(r.client.pacer.paced_seconds for r in distinct),
                   seconds=seconds_since_start())

