"""Where each SRC secret goes in DST, and the key that names it: pure, no I/O.

    Inventory (SRC) × Destination (DST) ──map_targets──► Targets (ok | missing target)

Variables (Scope.target "variable") are mapped as secrets are and bring their values from SRC;
they have no values-file key (reports name them `var:` + the key a secret there would have).

Mapping: an org secret goes to DST's org (same app, same visibility; `selected` repositories are
mapped by repository *name* to DST's ids); a repository secret to the same-named repository of
DST; an environment secret to the same environment of that repository. Names of repositories,
environments and secrets are compared case-insensitively, as GitHub does. Nothing is guessed: a
repository or environment DST lacks, or an archived DST repository (read-only), makes the target
"missing"; a selected repository DST lacks is listed and left out of the selection.

Value keys (values file and template):

    actions:org:NAME                  an organisation secret for Actions
    dependabot:org:NAME               an organisation secret for Dependabot (codespaces:, agents:)
    actions:repo:REPO:NAME            a repository secret (dependabot:, codespaces:, agents:)
    actions:env:REPO:ENV:NAME         an environment secret (Actions only)
    NAME                              the same value for every secret called NAME

Why this is unambiguous: a secret name is `[A-Za-z0-9_]` and a repository name has no colon, so
the first two fields, the third (the repository) and the last (the name) are fixed; whatever lies
between the repository and the name is the environment, colons and all. A scoped key wins over
a bare NAME; an empty value counts as not given (so a template's `""` placeholders fall back to
the bare NAME, or are reported as missing). The organisation is never part of a key: it is --from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..core.model import App, OrgSelection, Repo, Scope, Visibility
from ..core.names import secret_name_problem

MIGRATED_APPS: tuple[App, ...] = ("actions", "dependabot", "codespaces", "agents")
VISIBILITIES: tuple[Visibility, ...] = ("all", "private", "selected")
KEY_SYNTAX = ("APP:org:NAME, APP:repo:REPO:NAME, actions:env:REPO:ENV:NAME or NAME "
              "(APP: actions, dependabot, codespaces or agents)")
#: a variable's report key: its place as a secret's key says it, marked (no values file needs it)
VARIABLE_KEY_PREFIX = "var:"


# -- inventory and mapping ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SourceSecret:
    """One secret (or variable: `scope.target`) of SRC: where it lives, its name, and for org
    ones who may read it; a variable's value comes with it, as GitHub returns it."""

    scope: Scope
    name: str
    visibility: Visibility | None = None  # org secrets only
    selected: tuple[str, ...] = ()  # SRC repository names, when visibility is "selected"
    value: str | None = None  # variables only

    @property
    def is_variable(self) -> bool:
        return self.scope.target == "variable"


@dataclass(frozen=True, slots=True)
class Inventory:
    org: str
    repos: tuple[Repo, ...]  # every SRC repository, archived ones and those outside --repos too
    secrets: tuple[SourceSecret, ...]
    outside: frozenset[str] = frozenset()  # lower-case names of repos left out by --repos
    #: upper-case names of SRC secrets left out by --name
    left_out_names: frozenset[str] = frozenset()
    #: what is left behind, and why: stores SRC's token may not read (see migrate's _Lister),
    #: agents secrets and variables DST's host has none of
    unread: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Destination:
    org: str
    repos: Mapping[str, Repo]  # lower-case name → repository
    #: lower-case repository name → {lower-case environment name: its name}; read only for
    #: repositories that environment secrets go to.
    environments: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: apps whose secrets DST does not serve (Codespaces on Enterprise Server) → why
    unavailable: Mapping[str, str] = field(default_factory=dict)

    def repo(self, name: str) -> Repo | None:
        return self.repos.get(name.lower())

    def environment(self, repo: str, env: str) -> str | None:
        return self.environments.get(repo.lower(), {}).get(env.lower())


@dataclass(frozen=True, slots=True)
class Target:
    """Where one SRC secret goes in DST, or why it cannot go there."""

    source: SourceSecret
    scope: Scope  # in DST, with repo_id when the repository exists
    selection: OrgSelection | None = None  # org secrets: visibility and mapped ids
    missing: str | None = None  # why the target cannot be written; None: it can
    unmapped: tuple[str, ...] = ()  # selected SRC repositories DST does not have

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def key(self) -> str:
        return value_key(self.source)

    @property
    def writable(self) -> bool:
        return self.missing is None


def index_repos(repos: Iterable[Repo]) -> dict[str, Repo]:
    return {r.name.lower(): r for r in repos}


def map_targets(inventory: Inventory, dest: Destination) -> list[Target]:
    """Each SRC secret's (or variable's) target in DST, in inventory order."""
    return [_in_store(_map_one(secret, dest)) for secret in inventory.secrets]


def _in_store(target: Target) -> Target:
    """A variable's target is among DST's variables of the place the mapping found."""
    if target.source.is_variable:
        return replace(target, scope=target.scope.variables())
    return target


def secrets_only(targets: Iterable[Target]) -> list[Target]:
    """The targets that need a value from the operator (variables bring their own)."""
    return [t for t in targets if not t.source.is_variable]


def _map_one(secret: SourceSecret, dest: Destination) -> Target:
    src = secret.scope
    if src.app in dest.unavailable:
        scope = (Scope.of_org(dest.org, src.app) if src.kind == "org" else
                 Scope.of_repo(dest.org, src.repo or "", src.app))
        return Target(secret, scope, missing=dest.unavailable[src.app])
    if src.kind == "org":
        visibility: Visibility = secret.visibility or "private"
        if visibility != "selected":
            return Target(secret, Scope.of_org(dest.org, src.app), OrgSelection(visibility))
        ids: list[int] = []
        unmapped: list[str] = []
        for name in secret.selected:
            found = dest.repo(name)
            if found is None:
                unmapped.append(name)
            else:
                ids.append(found.id)
        return Target(secret, Scope.of_org(dest.org, src.app),
                      OrgSelection("selected", tuple(sorted(set(ids)))), unmapped=tuple(unmapped))
    assert src.repo is not None
    repo = dest.repo(src.repo)
    repo_name = repo.name if repo else src.repo
    repo_id = repo.id if repo else None
    if src.kind == "repo":
        scope = Scope.of_repo(dest.org, repo_name, src.app, repo_id)
    else:
        assert src.env is not None
        env = dest.environment(repo_name, src.env) if repo else None
        scope = Scope.of_env(dest.org, repo_name, env or src.env, repo_id)
    if repo is None:
        return Target(secret, scope, missing=f"repository {src.repo} does not exist in {dest.org}")
    if repo.archived:
        return Target(secret, scope, missing=f"{dest.org}/{repo.name} is archived (read-only)")
    if src.kind == "env" and dest.environment(repo.name, src.env or "") is None:
        return Target(secret, scope, missing=f"environment {src.env} does not exist in "
                                             f"{dest.org}/{repo.name}")
    return Target(secret, scope)


def repos_needing_environments(inventory: Inventory, dest_repos: Mapping[str, Repo]) -> list[str]:
    """DST repositories whose environments must be read: targets of environment secrets (and
    variables)."""
    wanted = {s.scope.repo.lower() for s in inventory.secrets
              if s.scope.kind == "env" and s.scope.repo}
    return sorted(dest_repos[n].name for n in wanted
                  if n in dest_repos and not dest_repos[n].archived)


# -- value keys --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ValueKey:
    """A parsed key, normalised for comparison (names upper-case, repo and env lower-case)."""

    name: str
    app: str | None = None  # None: a bare NAME
    kind: str | None = None
    repo: str | None = None
    env: str | None = None

    @property
    def scoped(self) -> bool:
        return self.kind is not None


def value_key(secret: SourceSecret) -> str:
    """The key that names one SRC secret in a values file; a variable's, prefixed with
    VARIABLE_KEY_PREFIX, names it in reports only."""
    scope = secret.scope
    mark = VARIABLE_KEY_PREFIX if secret.is_variable else ""
    if scope.kind == "org":
        return f"{mark}{scope.app}:org:{secret.name}"
    if scope.kind == "repo":
        return f"{mark}{scope.app}:repo:{scope.repo}:{secret.name}"
    return f"{mark}{scope.app}:env:{scope.repo}:{scope.env}:{secret.name}"


def key_of(secret: SourceSecret) -> ValueKey:
    scope = secret.scope
    return ValueKey(secret.name.upper(), scope.app, scope.kind,
                    scope.repo.lower() if scope.repo else None,
                    scope.env.lower() if scope.env else None)


def parse_value_key(text: str) -> ValueKey:
    """A key of the syntax in the module docstring, or ValueError saying what is wrong."""
    parts = text.strip().split(":")
    if len(parts) == 1:
        return ValueKey(_checked_name(parts[0]))
    app, kind = parts[0].lower(), parts[1].lower() if len(parts) > 1 else ""
    if app not in MIGRATED_APPS:
        raise ValueError(f"a scoped key starts with actions:, dependabot:, codespaces: or "
                         f"agents:; expected {KEY_SYNTAX}")
    if kind == "org" and len(parts) == 3:
        return ValueKey(_checked_name(parts[2]), app, "org")
    if kind == "repo" and len(parts) == 4 and parts[2]:
        return ValueKey(_checked_name(parts[3]), app, "repo", parts[2].lower())
    if kind == "env" and len(parts) >= 5 and parts[2] and all(parts[3:-1]):
        if app != "actions":
            raise ValueError("environment secrets exist for actions only")
        env = ":".join(parts[3:-1])
        return ValueKey(_checked_name(parts[-1]), app, "env", parts[2].lower(), env.lower())
    raise ValueError(f"expected {KEY_SYNTAX}")


def _checked_name(name: str) -> str:
    problem = secret_name_problem(name.strip())
    if problem is not None:
        raise ValueError(problem)
    return name.strip().upper()



def scope_json(scope: Scope) -> dict[str, Any]:
    return {"org": scope.org, "app": scope.app, "kind": scope.kind, "repo": scope.repo,
            "env": scope.env}

