"""Config + the org's repositories → what should exist where (Desired). Pure."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ..config.model import Config, SecretSpec
from .model import OrgSelection, Repo, Scope
from .plan import Desired

#: (scope, name, index of the [[secret]] or [[variable]]; scope.target tells which) → fp
Fingerprint = Callable[[Scope, str, int], str]


@dataclass(frozen=True, slots=True)
class Duplicate:
    scope: Scope
    name: str
    first: int  # indexes of the two [[secret]] (or [[variable]]) tables
    second: int

    def __str__(self) -> str:
        table = self.scope.target
        return (f"{table}[{self.first}] and {table}[{self.second}] both write {self.name} "
                f"in {self.scope}")


def desired_from_config(config: Config, repos: Mapping[str, Sequence[Repo]],
                        fingerprint: Fingerprint) -> tuple[list[Desired], list[Duplicate]]:
    """Every (scope, name) the config wants, secrets then variables, and any declared twice
    once globs are resolved."""
    wanted: list[Desired] = []
    seen: dict[tuple[Scope, str], int] = {}
    duplicates: list[Duplicate] = []
    for index, spec in indexed(config):
        for scope, selection in targets_of(spec, repos.get(spec.org, ())):
            if (scope, spec.name) in seen:
                duplicates.append(Duplicate(scope, spec.name, seen[(scope, spec.name)], index))
                continue
            seen[(scope, spec.name)] = index
            wanted.append(Desired(scope, spec.name, fingerprint(scope, spec.name, index),
                                  selection, index))
    return wanted, duplicates


def indexed(config: Config) -> list[tuple[int, SecretSpec]]:
    """Every [[secret]] then every [[variable]], each with its index in its own table."""
    return [*enumerate(config.secrets), *enumerate(config.variables)]


def targets_of(spec: SecretSpec, repos: Sequence[Repo]
               ) -> list[tuple[Scope, OrgSelection | None]]:
    """The scopes `spec` writes (their variables, for a [[variable]]), with the org one's
    selection."""
    return [(scope.variables() if spec.target == "variable" else scope, selection)
            for scope, selection in _places_of(spec, repos)]


def _places_of(spec: SecretSpec, repos: Sequence[Repo]
               ) -> list[tuple[Scope, OrgSelection | None]]:
    app = spec.app  # validated by config: one of model.APPS (VARIABLE_APPS for a variable)
    found: list[tuple[Scope, OrgSelection | None]] = []
    if spec.org_target is not None:
        target = spec.org_target
        ids = tuple(sorted(r.id for r in repos if target.selects(r.name))) \
            if target.visibility == "selected" else ()
        found.append((Scope.of_org(spec.org, app), OrgSelection(target.visibility, ids)))  # type: ignore[arg-type]
    if spec.repos is not None:
        chosen = sorted((r for r in repos if spec.repos.selects(
            r.name, archived=r.archived, fork=r.fork, topics=r.topics)), key=lambda r: r.name.lower())
        for repo in chosen:
            if spec.environments:
                found.extend((Scope.of_env(spec.org, repo.name, env, repo.id), None)
                             for env in spec.environments)
            else:
                found.append((Scope.of_repo(spec.org, repo.name, app, repo.id), None))  # type: ignore[arg-type]
    return found


def named_but_missing(spec: SecretSpec, repos: Sequence[Repo]) -> list[str]:
    """Repositories `spec` names literally (no * ? [) in [secret.repos] match or in
    selected_repos that the org does not have: a typo, or a repository gone."""
    names = [*(spec.repos.match if spec.repos is not None else ()),
             *(spec.org_target.selected_repos if spec.org_target is not None else ())]
    have = {r.name.lower() for r in repos}
    return sorted({n for n in names if not any(c in n for c in "*?[") and n.lower() not in have},
                  key=str.lower)


def orgs_needing_repos(config: Config) -> list[str]:
    """Orgs whose repository list the config needs (repo targets or selected org secrets)."""
    return sorted({s.org for s in config.specs
                   if s.repos is not None or (s.org_target and s.org_target.visibility == "selected")})
